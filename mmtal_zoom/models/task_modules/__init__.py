"""Task modules (TASK_UTILS): points, assigners, coders, samplers, score
fusion."""
from .center_sampling_assigner import CenterSamplingAssigner
from .classifier_fusion import ClassifierFileError, VideoClassifierFusion
from .point_generator import PointGenerator1D
from .rcl_assigner import RCLAssigner
from .rcl_sampler import RCLSampler
from .segment_coder import SegmentDistanceCoder
from .signed_distance_target import SignedDistanceTarget

__all__ = ['CenterSamplingAssigner', 'PointGenerator1D',
           'SegmentDistanceCoder', 'RCLAssigner', 'RCLSampler',
           'SignedDistanceTarget', 'VideoClassifierFusion',
           'ClassifierFileError']
