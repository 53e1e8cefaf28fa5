"""``--trust-checkpoint`` / ``--trust-checkpoint-global`` never run code
(issue 15, defect 1): every payload of ``tests/checkpoint_payloads.py``
through ``tools/test.py``, ``tools/infer.py``, ``tools/train.py --resume``
and ``tools/export_onnx.py``, with and without the flags; the marker file
the payload would create never appears, the tool exits non-zero with one
line naming the refusal, and the message offers no command that would load
the file. A data-only global (``argparse.Namespace``) is allowed when named.
"""
import argparse
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from checkpoint_payloads import PAYLOADS  # noqa: E402
from checkpoint_payloads import write_payload_checkpoint  # noqa: E402
from cli_helpers import last_line, run_tool, runner_options  # noqa: E402

TOOLS = ('test', 'infer', 'train', 'export_onnx')


@pytest.fixture(scope='module')
def setup(tiny_baseline_config, tiny_tal_dataset, tmp_path_factory):
    """The tiny config, a state dict of its model and a feature file."""
    from mmaction.registry import MODELS
    root = tmp_path_factory.mktemp('trust')
    cfg = Config.fromfile(str(tiny_baseline_config))
    model = MODELS.build(cfg.model)
    feature = sorted((Path(tiny_tal_dataset) / 'features').glob('*.npy'))[0]
    return dict(root=root, cfg=str(tiny_baseline_config),
                state_dict=model.state_dict(), feature=str(feature))


def _argv(tool, s, ckpt, work):
    if tool == 'test':
        return [s['cfg'], ckpt, '--work-dir', work] + runner_options(tool)
    if tool == 'train':
        return [s['cfg'], '--resume', ckpt, '--work-dir', work] + \
            runner_options(tool)
    if tool == 'infer':
        return [s['cfg'], ckpt, s['feature'], '--out', work / 'r.json']
    return [s['cfg'], ckpt, '--out', work / 'm.onnx']


def _payload_file(s, key, tag):
    marker = s['root'] / f'marker_{tag}'
    path = write_payload_checkpoint(s['root'] / f'{tag}.pth', PAYLOADS[key],
                                    marker, state_dict=s['state_dict'])
    return path, marker


@pytest.mark.parametrize('tool', TOOLS)
@pytest.mark.parametrize('key', sorted(PAYLOADS))
def test_trust_flags_refuse_every_payload(setup, tool, key):
    """Refused before the file is read: the flags name a global that is not
    a data-only constructor, or the file needs one."""
    tag = f'{tool}_{key}'.replace('.', '_').replace('+', '_')
    path, marker = _payload_file(setup, key, tag)
    work = setup['root'] / f'work_{tag}'
    name = PAYLOADS[key].global_name
    for flags in (['--trust-checkpoint'],
                  ['--trust-checkpoint-global', name],
                  ['--trust-checkpoint', '--trust-checkpoint-global',
                   'argparse.Namespace']):
        rc, out, err = run_tool(tool, _argv(tool, setup, path, work) + flags)
        assert rc != 0, (flags, out[-2000:], err[-2000:])
        line = last_line(err)
        assert line.startswith('error: ') and 'never allowed' in line, err
        assert name in line
        assert 'Traceback' not in out + err
        assert not marker.exists()
    assert not (work / 'r.json').exists() and not (work / 'm.onnx').exists()


# Without any flag the default allow-list refuses at load. infer builds only
# the model: every payload; the runner-based tools: one payload each.
@pytest.mark.parametrize('tool,key', [('infer', k) for k in sorted(PAYLOADS)]
                         + [(t, 'numpy.load+BytesIO')
                            for t in ('test', 'train', 'export_onnx')])
def test_default_refuses_every_payload(setup, tool, key):
    tag = f'default_{tool}_{key}'.replace('.', '_').replace('+', '_')
    path, marker = _payload_file(setup, key, tag)
    work = setup['root'] / f'work_{tag}'
    rc, out, err = run_tool(tool, _argv(tool, setup, path, work))
    assert rc != 0
    line = last_line(err)
    assert line.startswith('error: Refused to load checkpoint'), err[-3000:]
    assert path in line and 'Do not load this file' in line
    # the refusal offers no way to load the file
    assert '--trust' not in line and 'tools/' not in line
    assert 'Traceback' not in out + err
    assert not marker.exists()


def test_named_data_only_global_is_allowed(setup):
    """A foreign checkpoint that stores its training args: refused by
    default with the flag named (no command line), allowed for that file
    with --trust-checkpoint-global argparse.Namespace or
    --trust-checkpoint."""
    path = setup['root'] / 'foreign.pth'
    torch.save(dict(state_dict=setup['state_dict'],
                    meta=dict(args=argparse.Namespace(lr=0.1))), path)
    work = setup['root'] / 'work_foreign'
    rc, out, err = run_tool('infer', _argv('infer', setup, path, work))
    assert rc != 0
    line = last_line(err)
    assert 'argparse.Namespace' in line
    assert '--trust-checkpoint-global NAME' in line
    assert 'tools/' not in line and 'Traceback' not in err
    for flags in (['--trust-checkpoint-global', 'argparse.Namespace'],
                  ['--trust-checkpoint']):
        rc, out, err = run_tool('infer', _argv('infer', setup, path, work)
                                + flags)
        assert rc == 0, err[-3000:]
        assert (work / 'r.json').is_file()
        (work / 'r.json').unlink()
