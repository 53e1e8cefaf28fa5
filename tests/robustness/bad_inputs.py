"""The malformed inputs of the robustness catalogue (``catalogue.py``):
``INPUTS[kind][defect]``, how to write one malformed input of a kind
(``annotation``, ``features``, ``checkpoint``, ``results``, ...) from the
good one, and what the error line must name.

Writers get a :class:`Case` (``case.good``: the good inputs of the tiny
dataset; ``case.dir``: a fresh folder) and return the path of the bad input
(or, for ``option`` rows, extra arguments).
"""
import json
import os
from pathlib import Path
from typing import Callable, Dict, NamedTuple, Sequence

import numpy as np
import torch

# the video every annotation / feature defect is planted in
VIDEO = 'video_train_0001'
UNICODE_VIDEO = 'vid\u00e9o_\u00fc\u6f22'


class Case:
    """One run: the good inputs, a fresh folder, the paths it writes."""

    def __init__(self, good: dict, folder: Path):
        self.good = good
        self.dir = folder
        self.out = folder / 'out'  # every tool's outputs go below here


class Defect(NamedTuple):
    write: Callable  # (case) -> Path | list of extra argv
    needles: Sequence[str]  # what the error line must contain


# ----------------------------------------------------------------------
# annotation JSON (the tiny dataset's, with one defect in VIDEO)
# ----------------------------------------------------------------------
def _ann_text(case, mutate=None, text_mutate=None, name='annotations.json',
              encoding='utf-8'):
    data = json.loads(case.good['ann_text'])
    if mutate is not None:
        mutate(data['database'])
    text = json.dumps(data, indent=1, ensure_ascii=False)
    if text_mutate is not None:
        text = text_mutate(text)
    path = case.dir / name
    path.write_bytes(text.encode(encoding))
    return path


def _first_ann(db, **change):
    db[VIDEO]['annotations'][0].update(change)


def _entry(db, **change):
    db[VIDEO].update(change)


def _raw(text):
    return lambda case: _write(case.dir / 'annotations.json', text)


def _write(path, data):
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def _duplicate_video(text):
    """The first video's entry given a second time (json keeps the last)."""
    db = json.loads(text)['database']
    return text.replace('"database": {', '"database": {"' + VIDEO + '": '
                        + json.dumps(db[VIDEO]) + ', ', 1)


def _nan_in_segment(text):
    data = json.loads(text)
    video = VIDEO if VIDEO in data['database'] else UNICODE_VIDEO
    data['database'][video]['annotations'][0]['segment'] = ['@NAN@', 3.0]
    return json.dumps(data, indent=1, ensure_ascii=False).replace(
        '"@NAN@"', 'NaN')


def _literal(key, literal):
    """Set a field of VIDEO to a raw JSON literal (NaN, Infinity...)."""
    def mutate(text):
        data = json.loads(text)
        data['database'][VIDEO][key] = '@LIT@'
        return json.dumps(data, indent=1, ensure_ascii=False).replace(
            '"@LIT@"', literal)
    return mutate


def _rename_video(db):
    db[UNICODE_VIDEO] = db.pop(VIDEO)


ANNOTATION: Dict[str, Defect] = {
    'missing-file': Defect(lambda c: c.dir / 'nope.json', ['nope.json']),
    'empty-file': Defect(_raw(''), ['annotations.json', 'empty']),
    'not-json': Defect(_raw('{"database": {"v": [1, 2,}}'),
                       ['annotations.json', 'JSON']),
    'not-utf8': Defect(lambda c: _ann_text(
        c, lambda db: _entry(db, subset='entra\u00eenement'),
        encoding='latin-1'), ['annotations.json', 'utf-8']),
    'top-level-list': Defect(_raw('[1, 2, 3]'),
                             ['annotations.json', 'database']),
    'no-database': Defect(_raw('{"videos": {}}'),
                          ['annotations.json', 'database']),
    'duplicate-video-key': Defect(
        lambda c: _ann_text(c, text_mutate=_duplicate_video),
        [VIDEO, 'twice']),
    'nan-segment': Defect(lambda c: _ann_text(c, text_mutate=_nan_in_segment),
                          [VIDEO, 'segment']),
    'infinite-segment': Defect(
        lambda c: _ann_text(c, text_mutate=lambda t: _nan_in_segment(
            t).replace('NaN', 'Infinity')), [VIDEO, 'segment']),
    'reversed-segment': Defect(
        lambda c: _ann_text(c, lambda db: _first_ann(db, segment=[5.0, 2.0])),
        [VIDEO, 'ends before it starts']),
    'string-segment': Defect(
        lambda c: _ann_text(c, lambda db: _first_ann(db, segment='15')),
        [VIDEO, 'segment', '15']),
    'short-segment': Defect(
        lambda c: _ann_text(c, lambda db: _first_ann(db, segment=[1.0])),
        [VIDEO, 'segment']),
    'label-null': Defect(
        lambda c: _ann_text(c, lambda db: _first_ann(db, label=None)),
        [VIDEO, '"label"']),
    'label-id-string': Defect(
        lambda c: _ann_text(c, lambda db: _first_ann(db, label_id='2')),
        [VIDEO, '"label_id"']),
    'annotations-not-list': Defect(
        lambda c: _ann_text(c, lambda db: _entry(db, annotations={'a': 1})),
        [VIDEO, '"annotations"']),
    'entry-not-object': Defect(
        lambda c: _ann_text(c, lambda db: db.update({VIDEO: [1, 2]})),
        [VIDEO]),
    'infinite-fps': Defect(
        lambda c: _ann_text(c, text_mutate=_literal('fps', 'Infinity')),
        [VIDEO, '"fps"']),
    'nan-fps': Defect(lambda c: _ann_text(c, text_mutate=_literal(
        'fps', 'NaN')), [VIDEO, '"fps"']),
    'zero-fps': Defect(lambda c: _ann_text(c, lambda db: _entry(db, fps=0)),
                       [VIDEO, '"fps"']),
    'string-fps': Defect(
        lambda c: _ann_text(c, lambda db: _entry(db, fps='30')),
        [VIDEO, '"fps"']),
    'nan-duration': Defect(lambda c: _ann_text(c, text_mutate=_literal(
        'duration', 'NaN')), [VIDEO, '"duration"']),
    'negative-duration': Defect(
        lambda c: _ann_text(c, lambda db: _entry(db, duration=-12.0)),
        [VIDEO, '"duration"']),
    'no-subset': Defect(
        lambda c: _ann_text(c, lambda db: db[VIDEO].pop('subset')),
        [VIDEO, '"subset"']),
    # a unicode video name, with a segment defect: the name is printed
    'unicode-name-nan-segment': Defect(
        lambda c: _ann_text(c, _rename_video, text_mutate=_nan_in_segment),
        [UNICODE_VIDEO, 'segment']),
}


# ----------------------------------------------------------------------
# feature files: the tiny dataset's folder, VIDEO's file broken
# ----------------------------------------------------------------------
def _features(case, write):
    folder = case.dir / 'features'
    folder.mkdir()
    for f in sorted(Path(case.good['features']).iterdir()):
        if f.stem != VIDEO:
            os.symlink(f, folder / f.name)
    good = np.load(Path(case.good['features']) / f'{VIDEO}.npy')
    write(folder / f'{VIDEO}.npy', good)
    return folder


def _truncate(p, x):
    np.save(p, x)
    p.write_bytes(p.read_bytes()[:-64])


def _nan_values(p, x):
    x = x.copy()
    x[5, 3] = np.nan
    np.save(p, x)


def _object_array(p, x):
    arr = np.empty(2, dtype=object)
    arr[:] = [x, 'text']
    np.save(p, arr, allow_pickle=True)


FEATURES: Dict[str, Defect] = {
    'empty-npy': Defect(lambda c: _features(c, lambda p, x: p.write_bytes(
        b'')), [f'{VIDEO}.npy', 'empty']),
    'truncated-npy': Defect(lambda c: _features(c, _truncate),
                            [f'{VIDEO}.npy', 'truncated']),
    'not-npy': Defect(lambda c: _features(c, lambda p, x: p.write_bytes(
        b'hello, not an array' * 10)), [f'{VIDEO}.npy', '.npy']),
    'complex-dtype': Defect(lambda c: _features(c, lambda p, x: np.save(
        p, x.astype(np.complex64))), [f'{VIDEO}.npy', 'real numbers']),
    'object-array': Defect(lambda c: _features(c, _object_array),
                           [f'{VIDEO}.npy']),
    'three-dims': Defect(lambda c: _features(c, lambda p, x: np.save(
        p, x[None])), [f'{VIDEO}.npy', '(T, C)']),
    'other-feature-dim': Defect(lambda c: _features(c, lambda p, x: np.save(
        p, x[:, :16])), [VIDEO, '16-d']),
    'nan-values': Defect(lambda c: _features(c, _nan_values),
                         [f'{VIDEO}.npy', 'non-finite']),
}


# ----------------------------------------------------------------------
# checkpoints
# ----------------------------------------------------------------------
def _ckpt(case, name, data=None, obj=None):
    path = case.dir / name
    if obj is not None:
        torch.save(obj, path)
    else:
        path.write_bytes(data)
    return path


def _payload(case):
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from checkpoint_payloads import PAYLOADS, write_payload_checkpoint
    case.marker = case.dir / 'marker'
    return Path(write_payload_checkpoint(
        case.dir / 'evil.pth', PAYLOADS['numpy.load+BytesIO'], case.marker,
        state_dict=case.good['state_dict']))


def _good_bytes(case):
    return Path(case.good['checkpoint']).read_bytes()


CHECKPOINT: Dict[str, Defect] = {
    'missing-file': Defect(lambda c: c.dir / 'mod\u00e8le.pth',
                           ['mod\u00e8le.pth']),
    'empty-file': Defect(lambda c: _ckpt(c, 'e.pth', b''), ['e.pth', 'empty']),
    'truncated': Defect(lambda c: _ckpt(c, 't.pth', _good_bytes(c)[:-700]),
                        ['t.pth', 'truncated']),
    'not-torch': Defect(lambda c: _ckpt(c, 'j.pth', b'{"state_dict": {}}'),
                        ['j.pth', 'not a checkpoint']),
    'payload': Defect(_payload, ['evil.pth', 'Do not load']),
    'payload-trusted': Defect(lambda c: [_payload(c), '--trust-checkpoint'],
                              ['evil.pth', 'never allowed']),
    'other-model': Defect(lambda c: _ckpt(c, 'o.pth', obj=dict(
        state_dict={'fc.weight': torch.ones(2, 2)})), ['o.pth']),
}


# ----------------------------------------------------------------------
# ActivityNet-format results (eval_detection --pred)
# ----------------------------------------------------------------------
def _results(case, mutate=None, text=None):
    path = case.dir / 'results.json'
    if text is None:
        data = json.loads(case.good['results_text'])
        mutate(data['results'][case.good['results_video']][0])
        text = json.dumps(data)
    return _write(path, text)


def _dup_results(case):
    text = case.good['results_text']
    video = case.good['results_video']
    return _write(case.dir / 'results.json', text.replace(
        '"results": {', '"results": {"' + video + '": [], ', 1))


def _det(**change):
    return lambda c: _results(c, lambda d: d.update(change))


RESULTS: Dict[str, Defect] = {
    'missing-file': Defect(lambda c: c.dir / 'none.json', ['none.json']),
    'empty-file': Defect(lambda c: _results(c, text=''), ['results.json']),
    'not-json': Defect(lambda c: _results(c, text='{"results": '),
                       ['results.json', 'JSON']),
    'no-results-key': Defect(lambda c: _results(c, text='{"res": {}}'),
                             ['results.json', '"results"']),
    'duplicate-video-key': Defect(_dup_results, ['twice']),
    'reversed-segment': Defect(_det(segment=[9.0, 3.0]),
                               ['ends before it starts']),
    'negative-segment': Defect(_det(segment=[-1.0, 3.0]), ['before 0']),
    'zero-length-segment': Defect(_det(segment=[3.0, 3.0]), ['zero length']),
    'string-segment': Defect(_det(segment='15'), ["'15'"]),
    'nan-segment': Defect(_det(segment=[float('nan'), 3.0]), ['segment']),
    'nan-score': Defect(_det(score=float('nan')), ['"score"']),
    'string-score': Defect(_det(score='0.9'), ['"score"']),
    'unknown-label': Defect(_det(label='Dancing'), ["'Dancing'"]),
    'unknown-video': Defect(lambda c: _results(c, text=json.dumps(
        {'results': {'no_such_video': []}})), ["'no_such_video'"]),
    'detection-not-object': Defect(lambda c: _results(c, text=json.dumps(
        {'results': {c.good['results_video']: [1, 2]}})), ['detection 0']),
}


# ----------------------------------------------------------------------
# other inputs
# ----------------------------------------------------------------------
def _csv(text, encoding='utf-8'):
    return lambda c: _write(c.dir / 'labels.csv', text.encode(encoding))


CSV: Dict[str, Defect] = {
    'missing-file': Defect(lambda c: c.dir / 'none.csv', ['none.csv']),
    'empty-file': Defect(_csv(''), ['labels.csv', 'empty']),
    'bad-header': Defect(_csv('video,begin,stop\nv,1,2\n'), ['labels.csv']),
    'non-numeric-start': Defect(_csv('v1,one,2,Jump,train,10,30\n'),
                                ['labels.csv:1', 'segment']),
    'nan-start': Defect(_csv('v1,nan,2,Jump,train,10,30\n'),
                        ['labels.csv:1', 'not finite']),
    'not-utf8': Defect(_csv('vid\u00e9o,1,2,Jump,train,10,30\n', 'latin-1'),
                       ['labels.csv', 'utf-8']),
    'conflicting-duration': Defect(
        _csv('v1,1,2,Jump,train,10,30\nv1,3,4,Jump,train,12,30\n'),
        ['labels.csv:2', 'duration']),
}

MANIFEST: Dict[str, Defect] = {
    'not-json': Defect(lambda c: _write(c.dir / 'manifest.json', '{"v'),
                       ['manifest.json']),
    'no-videos': Defect(lambda c: _write(c.dir / 'manifest.json', '{"a": 1}'),
                        ['"videos"']),
}

CONFIG: Dict[str, Defect] = {
    'missing-file': Defect(lambda c: c.dir / 'no_config.py',
                           ['no_config.py']),
    'syntax-error': Defect(lambda c: _write(c.dir / 'broken.py',
                                            'model = dict(type=\n'),
                           ['broken.py']),
}


def _video_dir(case, files):
    folder = case.dir / 'videos'
    folder.mkdir()
    for name, data in files.items():
        _write(folder / name, data)
    return folder


VIDEOS: Dict[str, Defect] = {
    'missing-path': Defect(lambda c: c.dir / 'none.mp4', ['none.mp4']),
    'empty-folder': Defect(lambda c: _video_dir(c, {}), ['videos']),
    'empty-list': Defect(lambda c: _write(c.dir / 'list.txt', '# none\n'),
                         ['list.txt']),
    'list-names-missing-video': Defect(
        lambda c: _write(c.dir / 'list.txt', 'gone.mp4\n'), ['gone.mp4']),
    'duplicate-names': Defect(lambda c: [
        _video_dir(c, {'x.mp4': b'a'}), _write(c.dir / 'x.avi', b'b')],
        ['"x"']),
    'corrupt-video': Defect(lambda c: _video_dir(
        c, {'broken.mp4': b'\x00\x00\x00 ftypisom' + b'\x00' * 64}),
        ['broken.mp4']),
}


def _opt(*argv):
    return Defect(lambda c: list(argv), [argv[0]])


# options: the argv of the tool plus these (argparse names the option)
OPTION: Dict[str, Defect] = {
    'fps-nan': _opt('--fps', 'nan'), 'fps-zero': _opt('--fps', '0'),
    'fps-negative': _opt('--fps', '-30'), 'fps-inf': _opt('--fps', 'inf'),
    'duration-negative': _opt('--duration', '-1'),
    'score-thr-nan': _opt('--score-thr', 'nan'), 'topk-zero': _opt(
        '--topk', '0'),
    'tious-nan': _opt('--tious', 'nan'), 'tious-zero': _opt('--tious', '0'),
    'tious-above-one': _opt('--tious', '0.5', '1.5'),
    'recall-topk-zero': _opt('--recall-topk', '0'),
    'feat-stride-zero': _opt('--feat-stride', '0'),
    'batch-size-zero': _opt('--batch-size', '0'),
    'min-match-above-one': _opt('--min-checkpoint-match', '2'),
    'seq-len-zero': _opt('--seq-len', '0'),
    'atol-nan': _opt('--atol', 'nan'),
    'out-not-json': Defect(lambda c: ['--out', str(c.out / 'r.txt')],
                           ['--out', 'r.txt']),
    'dump-not-pkl': Defect(lambda c: ['--dump', str(c.out / 'r.json')],
                           ['--dump']),
    'out-not-onnx': Defect(lambda c: ['--out', str(c.out / 'm.txt')],
                           ['--out', 'm.txt']),
    'trust-code-global': Defect(
        lambda c: ['--trust-checkpoint-global', 'numpy.load'],
        ['numpy.load', 'never allowed']),
}

INPUTS = dict(annotation=ANNOTATION, features=FEATURES,
              checkpoint=CHECKPOINT, results=RESULTS, csv=CSV,
              manifest=MANIFEST, config=CONFIG, videos=VIDEOS, option=OPTION)


def _duplicates(case):
    """Two feature files named alike in two folders (infer)."""
    paths = []
    for sub in ('a', 'b'):
        folder = case.dir / sub
        folder.mkdir()
        os.symlink(case.good['feature'], folder / 'clip.npy')
        paths.append(folder / 'clip.npy')
    return paths


INPUTS['duplicates'] = {'same-name-in-two-folders': Defect(
    _duplicates, ['two inputs are named "clip"'])}
