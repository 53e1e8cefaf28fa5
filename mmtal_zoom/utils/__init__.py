"""Small utilities shared by tools and components."""
from .io import atomic_open, atomic_write_bytes, atomic_write_json

__all__ = ['atomic_open', 'atomic_write_bytes', 'atomic_write_json']
