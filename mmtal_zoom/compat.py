"""The one place where mmtal_zoom works around broken upstream releases.

Everything here is guarded: each work-around checks that the problem exists
before it changes anything, and never edits files in site-packages. It runs
once, when ``mmtal_zoom`` is imported (so it also applies when a user runs
MMAction2's own ``tools/train.py`` with ``custom_imports = dict(imports=
['mmtal_zoom'])`` in the config).

Work-arounds (the pinned stack: torch 2.13.0, mmengine 0.10.7, mmcv-lite 2.1.0,
mmaction2 1.2.0):

1. ``mmaction.models`` cannot be imported from the mmaction2 1.2.0 wheel: it
   ships without ``mmaction/models/localizers/drn``. A meta-path finder
   provides that package in memory; its ``DRN`` raises a clear error if
   someone builds it.
2. numpy >= 2.4 removed ``np.trapz``, which ``ANetMetric`` calls. The
   requirements pin numpy < 2.4; if a newer numpy is present anyway,
   ``np.trapz`` is aliased to ``np.trapezoid`` (same maths).
3. CPU distributed training under ``--launcher pytorch``: mmengine's launcher
   calls ``torch.cuda.set_device`` unconditionally and defaults to the NCCL
   backend, and the runner wraps the model in DDP with
   ``device_ids=[LOCAL_RANK]``. Without CUDA we skip ``set_device``, use
   ``gloo``, and drop ``device_ids`` (which DDP forbids for CPU modules).
4. Safe checkpoint loading under torch >= 2.6 (``weights_only=True``): see
   :mod:`mmtal_zoom.compat` section "checkpoints" (issue #8).
"""
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import types

_APPLIED = False

# --------------------------------------------------------------------------
# 1. the missing ``mmaction.models.localizers.drn`` package
# --------------------------------------------------------------------------
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
    """Answers only for the two missing module names; defers everything else."""

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


# --------------------------------------------------------------------------
# 2. ``np.trapz`` removed in numpy 2.4
# --------------------------------------------------------------------------
def _restore_np_trapz() -> bool:
    import numpy as np
    if hasattr(np, 'trapz'):
        return False
    np.trapz = np.trapezoid
    return True


# --------------------------------------------------------------------------
# 3. CPU DDP under mmengine's PyTorch launcher
# --------------------------------------------------------------------------
def _patch_cpu_distributed() -> bool:
    import torch
    if torch.cuda.is_available():
        return False
    import torch.distributed as torch_dist
    from mmengine.dist import utils as dist_utils
    from mmengine.model.wrappers import distributed as mm_ddp

    original_init = dist_utils._init_dist_pytorch
    if getattr(original_init, '_mmtal_zoom_cpu', False):
        return True

    def _init_dist_pytorch_cpu(backend='gloo', init_backend='torch',
                               **kwargs):
        # No CUDA: skip torch.cuda.set_device and use gloo (NCCL needs GPUs).
        if init_backend != 'torch':
            return original_init(backend, init_backend, **kwargs)
        if backend == 'nccl':
            backend = 'gloo'
        torch_dist.init_process_group(
            backend=backend,
            rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']),
            **kwargs)

    _init_dist_pytorch_cpu._mmtal_zoom_cpu = True
    dist_utils._init_dist_pytorch = _init_dist_pytorch_cpu

    ddp_cls = mm_ddp.MMDistributedDataParallel
    original_ddp_init = ddp_cls.__init__
    if not getattr(original_ddp_init, '_mmtal_zoom_cpu', False):

        def __init__(self, module, detect_anomalous_params=False, **kwargs):
            # DDP forbids device_ids for CPU modules; the runner always
            # passes [LOCAL_RANK].
            params = list(module.parameters())
            if params and params[0].device.type == 'cpu':
                kwargs['device_ids'] = None
                kwargs.pop('output_device', None)
            original_ddp_init(
                self, module,
                detect_anomalous_params=detect_anomalous_params, **kwargs)

        __init__._mmtal_zoom_cpu = True
        ddp_cls.__init__ = __init__
    return True


def _silence_mmcv_lite_warning() -> None:
    """mmcv-lite (no C++ ops) is the intended build; its import-time warning
    about ``MultiScaleDeformableAttention`` is noise for this plugin, which
    never uses that op."""
    import warnings
    warnings.filterwarnings(
        'ignore', message='Fail to import ``MultiScaleDeformableAttention``')


def apply() -> dict:
    """Apply every work-around that is needed; idempotent.

    Returns:
        dict: which work-arounds were active, e.g. ``{'drn': True, ...}``.
    """
    global _APPLIED
    _silence_mmcv_lite_warning()
    status = dict(
        drn=_install_drn_stand_in(),
        np_trapz=_restore_np_trapz(),
        cpu_distributed=_patch_cpu_distributed(),
    )
    _APPLIED = True
    return status
