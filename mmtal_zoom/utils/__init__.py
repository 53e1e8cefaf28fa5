"""Small utilities shared by tools and components."""
from .annotations import classes_from_database, label_ids_of_database
from .dist import reduce_mean
from .io import (JSONInputError, atomic_open, atomic_save_figure,
                 atomic_write_bytes, atomic_write_json, atomic_write_text,
                 load_config, load_json)

__all__ = ['classes_from_database', 'label_ids_of_database',
           'JSONInputError', 'atomic_open', 'atomic_save_figure',
           'atomic_write_bytes', 'atomic_write_json', 'atomic_write_text',
           'load_config', 'load_json', 'reduce_mean']
