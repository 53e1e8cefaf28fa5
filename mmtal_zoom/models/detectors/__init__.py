"""Detectors: composition of backbone, neck and head."""
from .bmn_rcl import BMNRCL
from .proposal_detector import ProposalDetector
from .tal_detector import TALDetector
from .two_stage_tal_detector import TwoStageTALDetector

__all__ = ['TALDetector', 'TwoStageTALDetector', 'BMNRCL', 'ProposalDetector']
