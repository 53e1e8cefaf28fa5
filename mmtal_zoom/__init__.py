"""mmtal_zoom: temporal action localization components for MMAction2.

Importing the package first checks that torch, mmengine, mmcv, mmaction2 and
numpy are versions it is tested against
(:mod:`mmtal_zoom.utils.version_check`), then applies the upstream
work-arounds in :mod:`mmtal_zoom.compat`, then imports every sub-package so
that all components register into MMAction2's registries (default scope
``mmaction``). A user config therefore only needs::

    custom_imports = dict(imports=['mmtal_zoom'], allow_failed_imports=False)
"""
from .utils.version_check import check_dependency_versions
from .version import __version__, version_info

DEPENDENCY_VERSIONS_FOUND = check_dependency_versions()

from . import compat  # noqa: E402

COMPAT_STATUS = compat.apply()

from . import (datasets, engine, evaluation, models, utils,  # noqa: E402,F401
               visualization)

__all__ = ['compat', 'datasets', 'engine', 'evaluation', 'models',
           'utils', 'visualization', '__version__', 'version_info']
