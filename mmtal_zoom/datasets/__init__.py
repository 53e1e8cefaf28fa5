"""Datasets, transforms and generators of embedded data."""
from . import generators, transforms  # noqa: F401
