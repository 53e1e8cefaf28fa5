"""Moved to :mod:`mmtal_zoom.structures.segment_ops`; this name stays for
code that imported it from here."""
from ...structures.segment_ops import *  # noqa: F401,F403
from ...structures.segment_ops import _SYNC_EVERY  # noqa: F401
