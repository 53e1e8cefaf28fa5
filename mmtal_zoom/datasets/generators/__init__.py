"""Generators of embedded datasets (see :mod:`.synthetic`)."""
from .synthetic import (PRESETS, FeatureModel, feature_stats,
                        generate_synthetic_database, make_embedded_dataset,
                        write_tal_dataset)

__all__ = [
    'PRESETS', 'FeatureModel', 'feature_stats', 'generate_synthetic_database',
    'make_embedded_dataset', 'write_tal_dataset'
]
