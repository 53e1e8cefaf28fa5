"""The one place where mmtal_zoom works around broken upstream releases.

One module per work-around; each names the upstream release or issue it
works around and when it can be deleted. Every work-around checks that the
problem exists before it changes anything, and none edits files in
site-packages. :func:`apply` runs once, when ``mmtal_zoom`` is imported (so
it also applies when a user runs MMAction2's own ``tools/train.py`` with
``custom_imports = dict(imports=['mmtal_zoom'])`` in the config).

Tested stack: torch 2.13.0, mmengine 0.10.7, mmcv-lite 2.1.0, mmaction2
1.2.0.

============================  ==============================================
module                        works around
============================  ==============================================
:mod:`.mmaction_drn`          mmaction2 1.2.0's wheel lacks
                              ``models/localizers/drn``
:mod:`.numpy_trapz`           numpy >= 2.4 without ``np.trapz``
:mod:`.cpu_distributed`       mmengine's PyTorch launcher / DDP wrapper on a
                              machine without CUDA
:mod:`.checkpoint_loading`    runner checkpoints under torch >= 2.6's
                              ``weights_only=True``; HistoryBuffer state;
                              EMAHook with state-dict-only files
:mod:`.anet_metric_ddp`       ``ANetMetric`` ground truth under DDP
:mod:`.logger_hook_json`      the test-metrics JSON written by every rank
:mod:`.atomic_checkpoints`    checkpoints written in place; the oldest
                              deleted before the new one exists
:mod:`.mmcv_lite`             mmcv-lite's import-time warning (a filter)
============================  ==============================================

Which foreign checkpoints a user may trust is a policy, not a work-around:
:mod:`mmtal_zoom.apis.checkpoint`. Its names are re-exported here for code
written against the earlier single-module ``compat``.
"""
from ..apis.checkpoint import (TRUSTABLE_GLOBALS, CheckpointLoadError,
                               trusted_checkpoint)
from .anet_metric_ddp import _patch_anet_metric_ddp
from .atomic_checkpoints import (_atomic_local_backend,
                                 _patch_checkpoint_hook_keep_until_saved)
from .checkpoint_loading import (_install_checkpoint_safety,
                                 checkpoint_safe_global_names,
                                 checkpoint_safe_globals)
from .cpu_distributed import _patch_cpu_distributed
from .logger_hook_json import _patch_logger_hook_test_json
from .mmaction_drn import _install_drn_stand_in
from .mmcv_lite import _silence_mmcv_lite_warning
from .numpy_trapz import _restore_np_trapz

__all__ = ['apply', 'TRUSTABLE_GLOBALS', 'CheckpointLoadError',
           'trusted_checkpoint', 'checkpoint_safe_globals',
           'checkpoint_safe_global_names']

_APPLIED = False


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
        checkpoints=_install_checkpoint_safety(),
        anet_metric_ddp=_patch_anet_metric_ddp(),
        test_json_ddp=_patch_logger_hook_test_json(),
        atomic_writes=_atomic_local_backend(),
        checkpoint_hook_keep_until_saved=(
            _patch_checkpoint_hook_keep_until_saved()),
    )
    _APPLIED = True
    return status
