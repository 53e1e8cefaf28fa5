"""tools/benchmark.py: rows per config in order, FLOPs on the executed graph
(FFTs included), ratios against the first config, JSON output."""
import importlib.util
import json
import math
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from mmtal_zoom.models.layers import GlobalFilter

REPO = Path(__file__).resolve().parents[2]
BASELINE = str(REPO / 'configs' / 'baseline' /
               'actionformer_synthetic-feat_1xb2-30e_embedded.py')
CLTDR = str(REPO / 'configs' / 'cltdr_gmg' /
            'cltdr-gmg_synthetic-feat_1xb2-30e_embedded.py')


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'mmtal_benchmark_tool', REPO / 'tools' / 'benchmark.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rows_in_order_with_ratios_and_json(tmp_path, capsys):
    tool = load_tool()
    out = tmp_path / 'bench.json'
    rows = tool.main([CLTDR, BASELINE, '--seq-len', '64', '--repeats', '2',
                      '--warmup', '0', '--no-isolate', '--out', str(out)])
    assert [r['config'] for r in rows] == [CLTDR, BASELINE]
    assert json.loads(out.read_text()) == rows
    for row in rows:
        assert row['params'] > 0 and row['gflops'] > 0
        assert row['latency_ms'] > 0 and len(row['latency_ms_all']) == 2
        assert row['peak_mem_mb'] >= 0 and row['input_dim'] == 256
        assert row['seq_len'] == 64 and row['mode'] == 'tensor'
    printed = capsys.readouterr().out
    assert 'cltdr-gmg_synthetic-feat_1xb2-30e_embedded' in printed
    assert '1.00x' in printed
    ratio = rows[1]['params'] / rows[0]['params']
    assert f'{ratio:.2f}x' in printed


def test_isolated_train_mode_counts_forward_and_backward(tmp_path):
    tool = load_tool()
    infer = tool.main([CLTDR, '--seq-len', '64', '--repeats', '1',
                       '--warmup', '0', '--no-isolate'])[0]
    train = tool.main([CLTDR, '--seq-len', '64', '--repeats', '1',
                       '--warmup', '0', '--mode', 'train'])[0]  # isolated
    assert train['mode'] == 'train' and train['params'] == infer['params']
    assert train['gflops'] > 2 * infer['gflops']  # backward ~ 2x forward
    assert train['peak_mem_mb'] > 0


def test_fft_flops_are_counted():
    tool = load_tool()
    filt = GlobalFilter(8, filter_type='mlp')
    x, mask = torch.randn(2, 8, 64), torch.ones(2, 64, dtype=torch.bool)
    with FlopCounterMode(display=False) as plain:
        filt(x, mask)
    with FlopCounterMode(display=False,
                         custom_mapping=tool.FFT_FLOPS) as counted:
        filt(x, mask)
    assert plain.get_total_flops() == 0  # torch has no FFT formula
    # one rfft and one irfft of length 64 per (sample, channel)
    expected = 2 * int(2.5 * 2 * 8 * 64 * math.log2(64))
    assert abs(counted.get_total_flops() - expected) <= 2


def test_trained_weights_on_given_features(tmp_path):
    """measure_config(checkpoint=..., inputs=...): the weights are loaded
    (a router whose trained weights spend more depth costs more FLOPs on the
    same features) and the features set T and the input width."""
    import numpy as np
    from mmengine.config import Config

    import mmtal_zoom  # noqa: F401
    from mmaction.registry import MODELS
    from mmtal_zoom.utils.benchmark import measure_config
    atr = str(REPO / 'configs' / 'zoom' /
              'temporal-zoom-atr_synthetic-feat_1xb2-30e_embedded.py')
    feats = tmp_path / 'x.npy'
    np.save(feats, np.random.default_rng(0).random((256, 96), np.float32))
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(atr).model)
    with torch.no_grad():
        model.backbone.router.beta.fill_(6.0)  # tau ~ 1: every deep layer
    ckpt = tmp_path / 'deep.pth'
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    kw = dict(repeats=1, warmup=0, inputs=str(feats))
    plain = measure_config(atr, **kw)
    deep = measure_config(atr, checkpoint=str(ckpt), **kw)
    assert plain['seq_len'] == deep['seq_len'] == 96
    assert plain['input_dim'] == 256 and deep['checkpoint'] == str(ckpt)
    assert deep['gflops'] > 1.2 * plain['gflops']
