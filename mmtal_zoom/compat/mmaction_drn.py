"""mmaction2 1.2.0's wheel lacks ``mmaction/models/localizers/drn``.

Upstream: open-mmlab/mmaction2#2714 (the directory exists in the source tree
but not in the PyPI wheel), so ``import mmaction.models`` fails. A meta-path
finder provides that package in memory; its ``DRN`` raises a clear error if
someone builds it. Delete this module when the installed mmaction2 wheel
ships the directory (:func:`_mmaction_ships_drn` then returns True and the
work-around is not applied anyway).
"""
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import types

_DRN_PKG = 'mmaction.models.localizers.drn'
_DRN_MOD = _DRN_PKG + '.drn'


def _mmaction_ships_drn() -> bool:
    """Whether the installed mmaction2 has ``models/localizers/drn`` on disk.

    Looked up on disk (not with ``find_spec``) because ``find_spec`` of a
    sub-module imports its parents, which is exactly what fails.
    """
    spec = importlib.util.find_spec('mmaction')
    if spec is None or not spec.submodule_search_locations:
        return True  # no mmaction at all: nothing to repair
    return any(
        os.path.isdir(os.path.join(loc, 'models', 'localizers', 'drn'))
        for loc in spec.submodule_search_locations)


def _build_drn_module(name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__file__ = f'<mmtal_zoom.compat stand-in for {name}>'
    if name == _DRN_PKG:
        module.__path__ = []  # a package, so ``.drn`` can be imported
        return module

    from mmaction.registry import MODELS

    class DRN:
        """Stand-in for MMAction2's DRN, absent from the mmaction2 1.2.0 wheel.

        Importing ``mmaction.models`` works again; building DRN does not.
        """

        def __init__(self, *args, **kwargs):
            raise ImportError(
                'DRN is not available: the installed mmaction2 1.2.0 wheel '
                'does not ship mmaction/models/localizers/drn (a packaging '
                'bug). Install mmaction2 from source to use DRN.')

    # ``force`` is not used: if a real DRN is registered, it wins.
    if MODELS.get('DRN') is None:
        MODELS.register_module(name='DRN', module=DRN)
    module.DRN = DRN
    module.__all__ = ['DRN']
    return module


class _DRNStandInFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers only for the two missing module names; defers everything
    else."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname in (_DRN_PKG, _DRN_MOD):
            return importlib.machinery.ModuleSpec(
                fullname, self, is_package=fullname == _DRN_PKG)
        return None

    def create_module(self, spec):
        return _build_drn_module(spec.name)

    def exec_module(self, module):
        pass


def _install_drn_stand_in() -> bool:
    if _mmaction_ships_drn():
        return False
    if any(isinstance(f, _DRNStandInFinder) for f in sys.meta_path):
        return True
    # Appended: the normal finders are asked first, so a real drn wins.
    sys.meta_path.append(_DRNStandInFinder())
    # A previous failed ``import mmaction.models`` leaves nothing behind in
    # sys.modules for the failing package, so a retry now succeeds.
    return True
