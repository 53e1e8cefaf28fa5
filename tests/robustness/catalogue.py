"""The catalogue of malformed inputs for ``test_cli_robustness.py``.

Not a test module. Three tables:

* ``INPUTS[kind][defect]``: how to write one malformed input of a kind
  (``annotation``, ``features``, ``checkpoint``, ``results``, ...) from the
  good one, and what the error line must name;
* ``ARGV[tool][kind]``: the command line that feeds that kind of input to a
  tool (and the output files the tool must not leave behind);
* ``CATALOGUE``: ``(tool, kind, defect)`` rows -- every row must end with
  exit code != 0, one ``error:`` line on stderr naming the item, no
  traceback, no output file and no temporary file.

``INPUTS`` and its writers live in ``bad_inputs.py``; ``ARGV`` and
``CATALOGUE`` here. A new bug found with a bad input: add its defect to
``INPUTS`` (if new) and one row per tool to ``CATALOGUE``.
"""
import os.path as osp
import sys
from typing import List

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from bad_inputs import (ANNOTATION, CHECKPOINT, CONFIG, CSV,  # noqa: E402
                        FEATURES, INPUTS, MANIFEST, RESULTS, VIDEO, VIDEOS,
                        Case, Defect)

# what test_cli_robustness.py reads
__all__ = ['ARGV', 'CATALOGUE', 'INPUTS', 'Case', 'Defect']


# ----------------------------------------------------------------------
# how each tool gets each kind of input: (argv, outputs)
# ----------------------------------------------------------------------
def _data_options(ann=None, features=None):
    opts = []
    for split in ('train', 'val', 'test'):
        if ann is not None:
            opts.append(f'{split}_dataloader.dataset.ann_file={ann}')
        if features is not None:
            opts.append(f'{split}_dataloader.dataset.data_prefix.feature='
                        f'{features}')
    return opts


def _choose(kind, bad, defaults, slots, lists=()):
    """The values of a tool's command line for one row: ``defaults`` (good
    inputs by slot name), the bad input put in ``slots[kind]``; an
    ``option`` row's arguments, or what follows the bad file in a list (a
    flag such as ``--trust-checkpoint``), go to ``extra``. A slot in
    ``lists`` takes the whole list (several inputs)."""
    values = dict(defaults, extra=[])
    if kind == 'option':
        values['extra'] = list(bad)
    elif kind in slots:
        slot = slots[kind]
        if isinstance(bad, list) and slot not in lists:
            values[slot], values['extra'] = bad[0], list(bad[1:])
        else:
            values[slot] = bad
    return values


def _runner_argv(c, bad, kind, head):
    """train / test: a bad annotation or feature folder is given to every
    dataloader through --cfg-options."""
    opts = []
    if kind == 'annotation':
        opts = _data_options(ann=bad)
    elif kind == 'features':
        opts = _data_options(features=bad)
        if head[0] == 'test':  # the broken file is a train video
            opts.append('test_dataloader.dataset.subset=train')
    return head[1:] + (['--cfg-options', *opts] if opts else [])


def _train(c, bad, kind):
    v = _choose(kind, bad, dict(config=c.good['config'], resume=None),
                dict(config='config', checkpoint='resume'))
    resume = ['--resume', v['resume']] if v['resume'] else []
    head = ['train', v['config'], '--work-dir', c.out, *resume, *v['extra']]
    return _runner_argv(c, bad, kind, head), [c.out / '*.pth']


def _test(c, bad, kind):
    v = _choose(kind, bad, dict(config=c.good['config'],
                                ckpt=c.good['checkpoint']),
                dict(config='config', checkpoint='ckpt'))
    head = ['test', v['config'], v['ckpt'], '--work-dir', c.out, '--out',
            c.out / 'results.json', *v['extra']]
    return (_runner_argv(c, bad, kind, head),
            [c.out / 'results.json', c.out / '*.pkl'])


def _infer(c, bad, kind):
    if kind == 'features':
        bad = bad / f'{VIDEO}.npy'
    v = _choose(kind, bad, dict(config=c.good['config'],
                                ckpt=c.good['checkpoint'],
                                inputs=[c.good['feature']], gt=None),
                dict(config='config', checkpoint='ckpt', features='inputs',
                     duplicates='inputs', annotation='gt'),
                lists=('inputs', ))
    inputs = v['inputs'] if isinstance(v['inputs'], list) else [v['inputs']]
    gt = ['--gt', v['gt']] if v['gt'] else []
    return ([v['config'], v['ckpt'], *inputs, '--out', c.out / 'r.json',
             *gt, *v['extra']], [c.out / 'r.json'])


def _export(c, bad, kind):
    v = _choose(kind, bad, dict(config=c.good['config'],
                                ckpt=c.good['checkpoint']),
                dict(config='config', checkpoint='ckpt'))
    out = ['--out', c.out / 'm.onnx'] if '--out' not in v['extra'] else []
    return ([v['config'], v['ckpt'], *out, *v['extra']],
            [c.out / 'm.onnx', c.out / '*.onnx'])


def _eval(c, bad, kind):
    v = _choose(kind, bad, dict(gt=c.good['ann'], pred=c.good['results']),
                dict(annotation='gt', results='pred'))
    return (['--gt', v['gt'], '--pred', v['pred'], '--out',
             c.out / 'metrics.json', *v['extra']], [c.out / 'metrics.json'])


def _validate(c, bad, kind):
    v = _choose(kind, bad, dict(ann=c.good['ann'],
                                features=c.good['features']),
                dict(annotation='ann', features='features'))
    return [v['ann'], v['features'], *v['extra']], []


def _convert(c, bad, kind):
    fmt = {'csv': 'csv', 'manifest': 'csv'}.get(kind, 'anet13')
    v = _choose(kind, bad, dict(src=c.good['csv'] if fmt == 'csv'
                                else c.good['ann'], manifest=None),
                dict(annotation='src', csv='src', manifest='manifest'))
    extra = v['extra'] or ['--fps', '30']
    if v['manifest']:
        extra = ['--manifest', v['manifest']]
    out = ['--out', c.out / 'ann.json'] if '--out' not in extra else []
    return [fmt, v['src'], *out, *extra], [c.out / 'ann.json']


def _extract(c, bad, kind):
    v = _choose(kind, bad, dict(videos=[c.good['video']], ckpt=None),
                dict(videos='videos', checkpoint='ckpt'), lists=('videos', ))
    videos = v['videos'] if isinstance(v['videos'], list) else [v['videos']]
    ckpt = ['--checkpoint', v['ckpt']] if v['ckpt'] else []
    return ([c.good['extractor_config'], *videos, '--out-dir', c.out,
             '--no-progress', *ckpt, *v['extra']], [c.out / '*.npy'])


def _demo(c, bad, kind):
    return (['--config', bad, '--work-dir', c.out, '--data-root',
             c.dir / 'data'], [c.dir / 'data'])


ARGV = dict(train=_train, test=_test, infer=_infer, export_onnx=_export,
            eval_detection=_eval, validate_dataset=_validate,
            convert_annotations=_convert, extract_features=_extract,
            demo=_demo)


# ----------------------------------------------------------------------
# the catalogue: (tool, kind, defect)
# ----------------------------------------------------------------------
_ALL_ANN = list(ANNOTATION)
# eval reads neither fps nor duration (they cannot change its numbers)
_EVAL_ANN = [d for d in _ALL_ANN if 'fps' not in d and 'duration' not in d
             and d != 'no-subset']
_CONVERT_ANN = ['missing-file', 'empty-file', 'not-json', 'not-utf8',
                'top-level-list', 'no-database', 'duplicate-video-key',
                'nan-segment', 'infinite-segment', 'string-segment',
                'short-segment', 'label-null', 'annotations-not-list',
                'entry-not-object', 'unicode-name-nan-segment']
_CKPT_ALL = list(CHECKPOINT)

# tool -> input kind -> defects
_DEFECTS = {
    'validate_dataset': dict(
        annotation=_ALL_ANN, features=FEATURES,
        option=['fps-nan', 'feat-stride-zero']),
    'train': dict(
        annotation=_ALL_ANN, features=FEATURES, config=CONFIG,
        checkpoint=['missing-file', 'empty-file', 'truncated', 'not-torch',
                    'payload', 'payload-trusted']),
    'test': dict(
        annotation=['duplicate-video-key', 'nan-segment', 'infinite-fps',
                    'reversed-segment', 'label-null'],
        features=['empty-npy', 'truncated-npy', 'complex-dtype',
                  'nan-values'],
        checkpoint=_CKPT_ALL, config=['missing-file'],
        option=['out-not-json', 'dump-not-pkl', 'min-match-above-one',
                'trust-code-global']),
    'infer': dict(
        features=FEATURES, checkpoint=_CKPT_ALL, config=CONFIG,
        annotation=['not-json', 'duplicate-video-key', 'nan-fps',
                    'zero-fps', 'nan-duration'],
        option=['fps-nan', 'fps-zero', 'fps-negative', 'fps-inf',
                'duration-negative', 'score-thr-nan', 'topk-zero',
                'out-not-json', 'trust-code-global'],
        duplicates=['same-name-in-two-folders']),
    'export_onnx': dict(
        checkpoint=_CKPT_ALL, config=['missing-file'],
        option=['out-not-onnx', 'seq-len-zero', 'atol-nan',
                'trust-code-global']),
    'eval_detection': dict(
        annotation=_EVAL_ANN, results=RESULTS,
        option=['tious-nan', 'tious-zero', 'tious-above-one',
                'recall-topk-zero']),
    'convert_annotations': dict(
        annotation=_CONVERT_ANN, csv=CSV, manifest=MANIFEST,
        option=['fps-zero', 'out-not-json']),
    'extract_features': dict(
        videos=VIDEOS,
        checkpoint=['missing-file', 'empty-file', 'truncated', 'payload'],
        option=['fps-nan', 'batch-size-zero', 'feat-stride-zero']),
    'demo': dict(config=CONFIG),
}

CATALOGUE: List[tuple] = [(tool, kind, defect)
                          for tool, kinds in _DEFECTS.items()
                          for kind, defects in kinds.items()
                          for defect in defects]
