"""Every command-line tool on a catalogue of malformed inputs (issue 15).

For each row of ``catalogue.CATALOGUE`` (tool, kind of input, defect) the
bad input is generated on the fly from the tiny dataset and the tool's
``main(argv)`` runs in-process; it must exit != 0 with one ``error:`` line
at the end of stderr that names the file / video / field, print no
traceback, and leave no output file and no temporary file behind (a
checkpoint payload must not have run). A few rows also run as real
subprocesses (``python tools/<tool>.py``) for the exit code and stderr of
the interpreter itself.
"""
import glob
import json
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from catalogue import ARGV, CATALOGUE, INPUTS, Case  # noqa: E402
from cli_helpers import (last_line, run_tool,  # noqa: E402
                         run_tool_subprocess, runner_options)

REPO = HERE.parents[1]
TINY_EXTRACTOR = str(REPO / 'configs' / 'extractors' /
                     'tiny_slowonly_r18_random.py')


@pytest.fixture(scope='module')
def good(tiny_tal_dataset, tiny_baseline_config, tmp_path_factory):
    """The good inputs every bad one is derived from."""
    from mmaction.registry import MODELS
    root = tmp_path_factory.mktemp('robustness_good')
    ann = Path(tiny_tal_dataset) / 'annotations.json'
    ann_text = ann.read_text()
    db = json.loads(ann_text)['database']
    cfg = Config.fromfile(str(tiny_baseline_config))
    state = MODELS.build(cfg.model).state_dict()
    classes = sorted({a['label'] for e in db.values()
                      for a in e['annotations']})
    ckpt = root / 'good.pth'
    torch.save(dict(state_dict=state,
                    meta=dict(dataset_meta=dict(classes=tuple(classes)))),
               ckpt)
    # the ground truth of the test subset as predictions
    results = {v: [dict(label=a['label'], segment=a['segment'], score=0.9)
                   for a in e['annotations']]
               for v, e in db.items() if e['subset'] == 'test'}
    video = next(v for v, dets in results.items() if dets)
    (root / 'results.json').write_text(json.dumps(dict(results=results)))
    (root / 'labels.csv').write_text('v1,1,2,Jump,train,10,30\n')
    (root / 'clip.mp4').write_bytes(b'never decoded')
    return dict(ann=str(ann), ann_text=ann_text,
                features=str(Path(tiny_tal_dataset) / 'features'),
                config=str(tiny_baseline_config), checkpoint=str(ckpt),
                state_dict=state,
                feature=str(Path(tiny_tal_dataset) / 'features' /
                            f'{video}.npy'),
                results=str(root / 'results.json'), results_text=json.dumps(
                    dict(results=results)), results_video=video,
                csv=str(root / 'labels.csv'), video=str(root / 'clip.mp4'),
                extractor_config=TINY_EXTRACTOR)


def _prepare(good, tmp_path, tool, kind, defect):
    case = Case(good, tmp_path)
    case.marker = None
    spec = INPUTS[kind][defect]
    bad = spec.write(case)
    argv, outputs = ARGV[tool](case, bad, kind)
    argv = [str(a) for a in argv]
    extra = runner_options(tool)  # ['--cfg-options', 'experiment_name=..']
    if extra:
        if '--cfg-options' in argv:
            argv.insert(argv.index('--cfg-options') + 1, extra[1])
        else:
            argv += extra
    return case, spec, argv, outputs


def _check(case, spec, outputs, rc, out, err):
    assert rc != 0, f'exit 0:\n{out[-2000:]}\n{err[-2000:]}'
    assert 'Traceback' not in out + err, err[-4000:]
    line = last_line(err)
    # ours: "error: ..."; argparse: "<prog>: error: argument --x: ..."
    assert line.startswith('error: ') or ': error: argument ' in line, \
        err[-3000:]
    for needle in spec.needles:
        assert needle in line, (needle, line)
    for pattern in outputs:
        left = glob.glob(str(pattern))
        assert not left, f'output left behind: {left}'
    temps = glob.glob(str(case.dir / '**' / '.*.tmp'), recursive=True)
    assert not temps, f'temporary files left behind: {temps}'
    if case.marker is not None:
        assert not case.marker.exists(), 'the checkpoint payload ran'


@pytest.mark.parametrize('tool,kind,defect', CATALOGUE,
                         ids=['/'.join(r) for r in CATALOGUE])
def test_bad_input_is_refused_in_one_line(good, tmp_path, tool, kind,
                                          defect):
    case, spec, argv, outputs = _prepare(good, tmp_path, tool, kind, defect)
    rc, out, err = run_tool(tool, argv)
    _check(case, spec, outputs, rc, out, err)


# End to end through the interpreter: one row per kind of failure path
# (dataset at load, checkpoint at load, refused trust, a results file).
SUBPROCESS_ROWS = [
    ('train', 'annotation', 'nan-segment'),
    ('test', 'checkpoint', 'truncated'),
    ('infer', 'checkpoint', 'payload-trusted'),
    ('eval_detection', 'results', 'string-segment'),
]


@pytest.mark.parametrize('tool,kind,defect', SUBPROCESS_ROWS,
                         ids=['/'.join(r) for r in SUBPROCESS_ROWS])
def test_bad_input_end_to_end(good, tmp_path, tool, kind, defect):
    case, spec, argv, outputs = _prepare(good, tmp_path, tool, kind, defect)
    rc, out, err = run_tool_subprocess(tool, argv)
    _check(case, spec, outputs, rc, out, err)


def test_catalogue_covers_every_tool_and_class():
    """The catalogue keeps its breadth as it grows."""
    tools = {t for t, _, _ in CATALOGUE}
    assert tools == set(ARGV)
    defects = {(k, d) for _, k, d in CATALOGUE}
    assert len(defects) >= 80, len(defects)
    assert len(CATALOGUE) == len(set(CATALOGUE))  # no row twice
