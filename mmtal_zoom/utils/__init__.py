"""Small utilities shared by tools and components."""
from .io import atomic_write_bytes, atomic_write_json

__all__ = ['atomic_write_bytes', 'atomic_write_json']
