"""Data preprocessors: batching and padding."""
from .tal_data_preprocessor import TALDataPreprocessor

__all__ = ['TALDataPreprocessor']
