"""Small utilities shared by tools and components."""
from .io import (JSONInputError, atomic_open, atomic_write_bytes,
                 atomic_write_json, load_config, load_json)

__all__ = ['JSONInputError', 'atomic_open', 'atomic_write_bytes',
           'atomic_write_json', 'load_config', 'load_json']
