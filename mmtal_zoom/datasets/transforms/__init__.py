"""Data transforms of the TAL feature pipeline."""
from .formatting import PackTALInputs
from .loading import LoadTALFeatures
from .normalization import StandardizeFeatures
from .truncation import RandomTruncateTAL

__all__ = [
    'LoadTALFeatures', 'RandomTruncateTAL', 'PackTALInputs',
    'StandardizeFeatures'
]
