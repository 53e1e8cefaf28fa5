"""Engine: runner hooks."""
from . import hooks  # noqa: F401
