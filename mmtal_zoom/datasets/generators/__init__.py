"""Generators of embedded datasets: the latent feature model
(:mod:`.synthetic`), the sparse one (:mod:`.sparse`) and the benchmark
family of presets built from both (:mod:`.family`)."""
from .family import (FAMILY, PRESETS, generate_database, make_embedded_dataset,
                     preset_kwargs)
from .sparse import SparseFeatureModel, generate_sparse_database
from .synthetic import (FeatureModel, feature_stats,
                        generate_synthetic_database, write_tal_dataset)

__all__ = [
    'FAMILY', 'PRESETS', 'FeatureModel', 'SparseFeatureModel',
    'feature_stats', 'generate_database', 'generate_sparse_database',
    'generate_synthetic_database', 'make_embedded_dataset', 'preset_kwargs',
    'write_tal_dataset'
]
