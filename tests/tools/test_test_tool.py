"""tools/test.py refuses a checkpoint that does not cover the model (issue
15, defect 4: it used to evaluate a random model and exit 0)."""
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_helpers import last_line, run_tool, runner_options  # noqa: E402


@pytest.fixture(scope='module')
def model_state(tiny_baseline_config):
    from mmaction.registry import MODELS
    cfg = Config.fromfile(str(tiny_baseline_config))
    return MODELS.build(cfg.model).state_dict()


def _test(cfg, ckpt, tmp_path, *extra):
    out = tmp_path / 'results.json'
    rc, stdout, err = run_tool('test', [
        cfg, ckpt, '--work-dir', tmp_path / 'work', '--out', out,
        *runner_options('test'), *extra])
    return rc, stdout, err, out


@pytest.mark.parametrize('keep, needles', [
    (lambda k: False, ['provides 0 of', 'backbone.', 'head.']),
    (lambda k: not k.startswith('head.'), ['head.']),
])
def test_checkpoint_of_another_model_is_refused(tiny_baseline_config,
                                                model_state, tmp_path, keep,
                                                needles):
    state = {k: v for k, v in model_state.items() if keep(k)}
    state['fc.weight'] = torch.ones(1, 4)  # something else entirely
    ckpt = tmp_path / 'other.pth'
    torch.save(dict(state_dict=state), ckpt)
    rc, stdout, err, out = _test(tiny_baseline_config, ckpt, tmp_path)
    assert rc == 2
    line = last_line(err)
    assert line.startswith(f'error: checkpoint {ckpt} provides'), err[-2000:]
    for needle in needles:
        assert needle in line
    assert '--min-checkpoint-match' in line and 'Traceback' not in err
    assert not out.exists()


def test_partial_checkpoint_with_explicit_override(tiny_baseline_config,
                                                   model_state, tmp_path):
    state = {k: v for k, v in model_state.items()
             if not k.startswith('head.')}
    share = len(state) / len(model_state)
    ckpt = tmp_path / 'partial.pth'
    torch.save(dict(state_dict=state), ckpt)
    rc, _, err, out = _test(tiny_baseline_config, ckpt, tmp_path,
                            '--min-checkpoint-match', f'{share - 1e-3:.3f}')
    assert rc == 0, err[-3000:]
    assert out.is_file()
    rc, _, err, _ = _test(tiny_baseline_config, ckpt, tmp_path,
                          '--min-checkpoint-match', 'nan')
    assert rc == 2 and '--min-checkpoint-match' in last_line(err)


def test_checkpoint_trained_on_other_classes_is_refused(tiny_baseline_config,
                                                        model_state,
                                                        tmp_path):
    """A label names the test data's class of that index: a checkpoint
    whose training classes differ (one fewer here, so every later label
    would shift) is refused in one line; the same classes pass."""
    import json

    from mmtal_zoom.utils.annotations import classes_from_database
    cfg = Config.fromfile(str(tiny_baseline_config))
    ann = json.loads(Path(cfg.test_dataloader.dataset.ann_file).read_text())
    classes = list(classes_from_database(ann['database']))
    assert len(classes) >= 2
    for name, trained in (('same', classes), ('fewer', classes[1:])):
        ckpt = tmp_path / f'{name}.pth'
        torch.save(dict(state_dict=model_state,
                        meta=dict(dataset_meta=dict(classes=tuple(trained)))),
                   ckpt)
        rc, _, err, out = _test(tiny_baseline_config, ckpt, tmp_path / name)
        if name == 'same':
            assert rc == 0, err[-3000:]
            assert out.is_file()
        else:
            assert rc == 2
            line = last_line(err)
            assert line.startswith(f'error: checkpoint {ckpt} was trained '
                                   f'on {len(classes) - 1} classes')
            assert repr(classes[0]) in line and 'Traceback' not in err
            assert not out.exists()
