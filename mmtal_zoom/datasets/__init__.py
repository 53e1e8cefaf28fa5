"""Datasets, transforms and generators of embedded data."""
from . import generators, transforms  # noqa: F401
from .tal_feature_dataset import TALFeatureDataset
from .transforms import LoadTALFeatures, PackTALInputs, RandomTruncateTAL

__all__ = ['TALFeatureDataset', 'LoadTALFeatures', 'RandomTruncateTAL',
           'PackTALInputs']
