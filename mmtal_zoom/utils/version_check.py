"""Check, on ``import mmtal_zoom``, that the core dependencies are versions
mmtal_zoom is tested against (:data:`mmtal_zoom.version.DEPENDENCY_VERSIONS`).

Versions are read from the installed distributions' metadata (nothing is
imported to find them, so the check runs before anything could fail in a
confusing way) and compared with ``mmengine.utils.digit_version``, as
MMAction2 does for mmcv / mmengine.

* below a minimum: :class:`DependencyVersionError` (mmtal_zoom relies on
  something that version lacks), one line naming the package, the version
  found and the supported range;
* at or above a maximum: a ``UserWarning`` (untested, may still work).

``MMTAL_ZOOM_SKIP_VERSION_CHECK=1`` turns the error into a warning (to try a
nightly build, say).
"""
import importlib.metadata as metadata
import os
import warnings
from typing import Dict, Optional

from ..version import DEPENDENCY_VERSIONS, requirement

SKIP_ENV = 'MMTAL_ZOOM_SKIP_VERSION_CHECK'

# the distributions that provide each checked package, in the order tried
_DISTRIBUTIONS = {'mmcv': ('mmcv', 'mmcv-lite')}


class DependencyVersionError(ImportError):
    """An installed dependency is older than mmtal_zoom supports."""


def installed_version(package: str) -> Optional[str]:
    """The installed version of ``package`` (any of its distributions,
    e.g. ``mmcv`` or ``mmcv-lite``), or ``None`` when none is installed."""
    for dist in _DISTRIBUTIONS.get(package, (package, )):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


def check_dependency_versions(found: Optional[Dict[str, str]] = None) -> dict:
    """Compare installed versions with :data:`DEPENDENCY_VERSIONS`.

    Args:
        found (dict, optional): package -> version string to check instead
            of the installed ones (tests).

    Returns:
        dict: package -> version found (``None``: not installed).

    Raises:
        DependencyVersionError: a package is missing or older than its
            minimum, unless ``MMTAL_ZOOM_SKIP_VERSION_CHECK=1`` is set.
    """
    try:
        from mmengine.utils import digit_version
    except ImportError as exc:
        raise DependencyVersionError(
            f'mmtal_zoom needs {requirement("mmengine")} ({exc})') from exc

    found = dict(found) if found is not None else {
        pkg: installed_version(pkg)
        for pkg in DEPENDENCY_VERSIONS
    }
    errors, warns = [], []
    for pkg, (low, high) in DEPENDENCY_VERSIONS.items():
        version = found.get(pkg)
        if version is None:
            errors.append(f'{requirement(pkg)} (not installed)')
        elif digit_version(version) < digit_version(low):
            errors.append(f'{requirement(pkg)} (found {version})')
        elif high is not None and digit_version(version) >= digit_version(
                high):
            warns.append(f'mmtal_zoom is tested with {requirement(pkg)}'
                         f' (found {version}, untested).')
    if errors:
        msg = ('mmtal_zoom needs ' + '; '.join(errors) +
               f': install a version in that range, or set {SKIP_ENV}=1 to '
               'try anyway.')
        if os.environ.get(SKIP_ENV, '') in ('', '0'):
            raise DependencyVersionError(msg)
        warns.append(msg)
    for msg in warns:
        warnings.warn(msg, UserWarning, stacklevel=3)
    return found
