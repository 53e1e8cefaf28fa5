"""mmtal_zoom: temporal action localization components for MMAction2.

Importing the package applies the upstream work-arounds in
:mod:`mmtal_zoom.compat` first, then imports every sub-package so that all
components register into MMAction2's registries (default scope ``mmaction``).
A user config therefore only needs::

    custom_imports = dict(imports=['mmtal_zoom'], allow_failed_imports=False)
"""
from . import compat

COMPAT_STATUS = compat.apply()

from . import (datasets, engine, evaluation, models, utils,  # noqa: E402,F401
               visualization)

__version__ = '0.1.0'
__all__ = ['compat', 'datasets', 'engine', 'evaluation', 'models',
           'utils', 'visualization', '__version__']
