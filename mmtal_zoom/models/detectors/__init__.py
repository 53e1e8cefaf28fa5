"""Detectors: composition of backbone, neck and head."""
from .bmn_rcl import BMNRCL
from .proposal_detector import ProposalDetector
from .tal_detector import TALDetector

__all__ = ['TALDetector', 'BMNRCL', 'ProposalDetector']
