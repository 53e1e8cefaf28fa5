"""Moved to :mod:`mmtal_zoom.structures.time_grid`; this name stays for code
that imported it from here."""
from ..structures.time_grid import *  # noqa: F401,F403
