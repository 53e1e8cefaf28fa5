"""The upstream work-arounds in mmtal_zoom.compat."""
import subprocess
import sys

import numpy as np
import pytest
import torch

from mmaction.registry import MODELS
from mmtal_zoom import compat
from mmtal_zoom.compat import mmaction_drn


def _run(code):
    return subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, timeout=300)


@pytest.mark.skipif(mmaction_drn._mmaction_ships_drn(),
                    reason='this mmaction2 ships drn; nothing to repair')
def test_mmaction_models_import_fails_without_and_works_with_plugin():
    bare = _run('import mmaction.models')
    assert bare.returncode != 0
    assert 'drn' in bare.stderr
    fixed = _run('import mmtal_zoom, mmaction.models as m; '
                 'from mmaction.registry import MODELS; '
                 'assert MODELS.get("BMN") is not None; print("ok")')
    assert fixed.returncode == 0, fixed.stderr
    assert fixed.stdout.strip().endswith('ok')


def test_drn_stand_in_raises_clear_error():
    import mmaction.models  # noqa: F401
    with pytest.raises(ImportError, match='drn'):
        MODELS.build(dict(type='DRN'))


def test_apply_is_idempotent():
    finders_before = len(sys.meta_path)
    compat.apply()
    compat.apply()
    assert len(sys.meta_path) == finders_before


def test_np_trapz_available():
    assert np.trapz(np.array([1.0, 1.0]), dx=1.0) == pytest.approx(1.0)


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU-only work-around')
def test_cpu_ddp_wrapper_drops_device_ids(monkeypatch):
    """The runner passes device_ids=[LOCAL_RANK]; on CPU DDP must get None."""
    from mmengine.model.wrappers import MMDistributedDataParallel
    from torch.nn.parallel import DistributedDataParallel
    seen = {}

    def fake_ddp_init(self, module, **kwargs):
        seen.update(kwargs)

    monkeypatch.setattr(DistributedDataParallel, '__init__', fake_ddp_init)
    MMDistributedDataParallel(module=torch.nn.Linear(2, 2), device_ids=[0],
                              broadcast_buffers=False)
    assert seen['device_ids'] is None


def test_test_metrics_json_written_by_the_main_process_only(tmp_path,
                                                            monkeypatch):
    """LoggerHook.after_test_epoch dumps on every rank; only rank 0 may
    write, and atomically (no temporary file left, valid JSON)."""
    import json

    from mmengine import dist
    from mmengine.hooks import logger_hook
    path = tmp_path / '20261203_000000.json'
    monkeypatch.setattr(dist, 'is_main_process', lambda: False)
    logger_hook.dump({'tal/mAP@0.5': 0.5}, str(path))
    assert not path.exists()
    monkeypatch.setattr(dist, 'is_main_process', lambda: True)
    logger_hook.dump({'tal/mAP@0.5': 0.5}, str(path))
    assert json.loads(path.read_text()) == {'tal/mAP@0.5': 0.5}
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
