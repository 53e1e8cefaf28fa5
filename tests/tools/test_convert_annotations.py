"""tools/convert_annotations.py on small crafted inputs of every format."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from mmtal_zoom.datasets.converters import (ConversionError, convert,
                                            fill_durations, from_csv,
                                            read_class_list, to_standard)

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'tests'))
import cli_helpers  # noqa: E402


def load_tool():
    return cli_helpers.load_tool('convert_annotations')


def test_anet13(tmp_path):
    src = dict(version='VERSION 1.3', taxonomy=[], database={
        'v_a': dict(subset='training', duration=30.5, resolution='640x360',
                    url='x', annotations=[
                        dict(segment=[3.0, 9.5], label='Surfing'),
                        dict(segment=[1.0, 2.0], label='Archery')]),
        'v_b': dict(subset='testing', duration=12.0, annotations=[])})
    (tmp_path / 'anet.json').write_text(json.dumps(src))
    videos = convert('anet13', [str(tmp_path / 'anet.json')])
    fill_durations(videos, default_fps=25.0)
    out = to_standard(videos)
    a = out['database']['v_a']
    assert a['subset'] == 'training' and a['duration'] == 30.5
    assert a['fps'] == 25.0
    # sorted by start; ids alphabetical (Archery 0, Surfing 1)
    assert [x['label'] for x in a['annotations']] == ['Archery', 'Surfing']
    assert [x['label_id'] for x in a['annotations']] == [0, 1]
    assert a['annotations'][1]['segment(frames)'] == [75.0, 237.5]
    assert out['database']['v_b']['annotations'] == []


def test_mmaction_anet(tmp_path):
    entry = dict(duration_second=10.0, duration_frame=300, feature_frame=288,
                 annotations=[dict(segment=[1.0, 4.0], label='Run')])
    (tmp_path / 'anet_anno_train.json').write_text(json.dumps({'v_x': entry}))
    (tmp_path / 'anet_anno_val.json').write_text(json.dumps(
        {'v_y': dict(entry, annotations=[dict(segment=[2, 3],
                                              label='Jump')])}))
    videos = convert('mmaction-anet', [str(tmp_path / 'anet_anno_train.json'),
                                       str(tmp_path / 'anet_anno_val.json')])
    out = to_standard(videos)['database']
    assert out['v_x']['subset'] == 'training'
    assert out['v_y']['subset'] == 'validation'
    assert out['v_x']['fps'] == 30.0  # duration_frame / duration_second
    assert out['v_y']['annotations'][0]['label_id'] == 0  # Jump < Run
    (tmp_path / 'mine.json').write_text(json.dumps({'v_z': entry}))
    with pytest.raises(ConversionError, match='--subset'):
        convert('mmaction-anet', [str(tmp_path / 'mine.json')])
    with pytest.raises(ConversionError, match='anet13'):
        (tmp_path / 'wrong.json').write_text(json.dumps(dict(database={})))
        convert('mmaction-anet', [str(tmp_path / 'wrong.json')])


def test_thumos_txt(tmp_path):
    d = tmp_path / 'txt'
    d.mkdir()
    (d / 'HighJump_val.txt').write_text(
        'video_validation_0000001  8.9  15.0\n'
        'video_validation_0000001 20.0 24.5\n')
    (d / 'TennisSwing_test.txt').write_text('video_test_0000002 2.0 4.0\n')
    (d / 'Ambiguous_val.txt').write_text('video_validation_0000001 1 2\n')
    videos = convert('thumos-txt', [str(d)])
    with pytest.raises(ConversionError, match='no duration'):
        fill_durations(videos, default_fps=30.0)
    manifest = dict(videos={
        'video_validation_0000001': dict(duration=30.0, fps=30.0),
        'video_test_0000002': dict(duration=11.0, fps=29.97)})
    fill_durations(videos, manifest)
    out = to_standard(videos)['database']
    val = out['video_validation_0000001']
    assert val['subset'] == 'Validation' and val['duration'] == 30.0
    assert [a['label'] for a in val['annotations']] == ['HighJump'] * 2
    assert out['video_test_0000002']['subset'] == 'Test'
    assert out['video_test_0000002']['fps'] == 29.97
    # the "Ambiguous" class is skipped unless asked for
    labels = {a['label'] for v in out.values() for a in v['annotations']}
    assert labels == {'HighJump', 'TennisSwing'}
    videos = convert('thumos-txt', [str(d)], include_ambiguous=True)
    assert ('Ambiguous', 1.0, 2.0) in \
        videos['video_validation_0000001']['instances']
    (d / 'notes.txt').write_text('x')
    with pytest.raises(ConversionError, match='notes.txt'):
        convert('thumos-txt', [str(d)])
    (d / 'notes.txt').unlink()
    (d / 'Diving_val.txt').write_text('video_validation_0000003 1.0\n')
    with pytest.raises(ConversionError, match=r'Diving_val.txt:1'):
        convert('thumos-txt', [str(d)])


def test_csv_with_and_without_header(tmp_path):
    (tmp_path / 'h.csv').write_text(
        'label,video,start,end,subset,duration,fps\n'
        'Jump,v1,1.0,2.5,train,20,30\n'
        'Run,v1,4,6,train,20,30\n'
        ',v2,,,test,15,25\n')
    videos = from_csv(str(tmp_path / 'h.csv'))
    assert videos['v1']['instances'] == [('Jump', 1.0, 2.5), ('Run', 4, 6)]
    assert videos['v2'] == dict(subset='test', duration=15.0, fps=25.0,
                                instances=[])
    (tmp_path / 'n.csv').write_text('v1,1.0,2.5,Jump\nv2,3,4,Run\n')
    videos = from_csv(str(tmp_path / 'n.csv'), default_subset='train')
    assert videos['v2']['subset'] == 'train'
    assert videos['v1']['duration'] is None
    with pytest.raises(ConversionError, match='--subset'):
        from_csv(str(tmp_path / 'n.csv'))
    (tmp_path / 'bad.csv').write_text('video,start,end\nv1,1,2\n')
    with pytest.raises(ConversionError,
                       match=r"lacks column\(s\) \['label'\]"):
        from_csv(str(tmp_path / 'bad.csv'))
    (tmp_path / 'bad2.csv').write_text('v1,1,two,Jump\n')
    with pytest.raises(ConversionError, match='bad2.csv:1'):
        from_csv(str(tmp_path / 'bad2.csv'), default_subset='train')
    (tmp_path / 'bad3.csv').write_text(
        'video,start,end,label,duration\nv1,1,2,A,10\nv1,3,4,A,12\n')
    with pytest.raises(ConversionError, match='bad3.csv:3'):
        from_csv(str(tmp_path / 'bad3.csv'), default_subset='train')


def test_class_list_fixes_label_ids(tmp_path):
    videos = dict(v=dict(subset='train', duration=10.0, fps=30.0,
                         instances=[('B', 1.0, 2.0), ('A', 3.0, 4.0)]))
    out = to_standard(videos, classes=read_class_list('B,A,C'))
    assert [a['label_id'] for a in out['database']['v']['annotations']] == \
        [0, 1]
    with pytest.raises(ConversionError, match=r"\['B'\]"):
        to_standard(videos, classes=['A'])
    (tmp_path / 'classes.txt').write_text('# names\nA\nB\n')
    assert read_class_list(str(tmp_path / 'classes.txt')) == ['A', 'B']


def test_cli_csv_with_manifest_loads_in_dataset(tmp_path, capsys):
    (tmp_path / 'labels.csv').write_text(
        'video,start,end,label,subset\n'
        'clip_a,1.0,3.0,Jump,train\nclip_b,0.5,1.5,Run,train\n'
        'clip_b,2.0,9.0,Run,train\n')  # 9.0 > duration: a warning
    feats = tmp_path / 'features'
    feats.mkdir()
    manifest = dict(feat_stride=4, num_frames=16, fps=None, videos=dict(
        clip_a=dict(duration=6.0, fps=30.0),
        clip_b=dict(duration=8.0, fps=25.0)))
    (feats / 'manifest.json').write_text(json.dumps(manifest))
    out = tmp_path / 'ann.json'
    tool = load_tool()
    rc = tool.main(['csv', str(tmp_path / 'labels.csv'), '--manifest',
                    str(feats / 'manifest.json'), '--out', str(out)])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert 'segment-beyond-video' in text and 'clip_b' in text
    assert 'wrote' in text and '3 instances' in text
    # the result is what TALFeatureDataset reads
    for name, dur, fps in (('clip_a', 6.0, 30.0), ('clip_b', 8.0, 25.0)):
        t = int((dur * fps - 16) // 4 + 1)
        np.save(feats / f'{name}.npy', np.zeros((t, 8), np.float32))
    from mmaction.registry import DATASETS
    ds = DATASETS.build(dict(
        type='TALFeatureDataset', ann_file=str(out),
        data_prefix=dict(feature=str(feats)), subset='train',
        pipeline=[dict(type='LoadTALFeatures'), dict(type='PackTALInputs')]))
    assert ds.metainfo['classes'] == ('Jump', 'Run')
    info = {d['video_name']: d for d in map(ds.get_data_info, range(len(ds)))}
    assert info['clip_b']['fps'] == 25.0
    np.testing.assert_allclose(info['clip_b']['gt_segments'],
                               [[0.5, 1.5], [2.0, 9.0]])
    assert ds[0]['inputs'].shape[0] == 8
    # an input that cannot be converted: exit 2, message names it
    assert tool.main(['csv', str(tmp_path / 'nope.csv'), '--out',
                      str(out)]) == 2
    assert 'nope.csv' in capsys.readouterr().err
    # errors in the converted file: written, exit 1
    (tmp_path / 'rev.csv').write_text('v,5,4,Jump,train,10,30\n')
    assert tool.main(['csv', str(tmp_path / 'rev.csv'), '--out',
                      str(tmp_path / 'rev.json')]) == 1
    assert 'reversed-segment' in capsys.readouterr().out
    assert (tmp_path / 'rev.json').is_file()


def test_durations_from_the_videos(shared_data, tmp_path):
    (tmp_path / 'l.csv').write_text('highjump,8.86,15.01,HighJump\n'
                                    'tennis26,2.0,4.0,TennisSwing\n')
    videos = from_csv(str(tmp_path / 'l.csv'), default_subset='train')
    fill_durations(videos, video_dir=str(shared_data / 'real_i3d_samples'))
    assert videos['highjump']['duration'] == pytest.approx(24.2, abs=0.01)
    assert videos['tennis26']['fps'] == pytest.approx(30.09, abs=0.01)


def _anet13(tmp_path, label='"Jump"', name='v1', encoding='utf-8'):
    text = ('{"database": {"' + name + '": {"subset": "training", '
            '"duration": 10.0, "annotations": [{"segment": [1.0, 2.0], '
            '"label": ' + label + '}]}}}')
    path = tmp_path / 'anet.json'
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize('label', ['null', '""', 'true', '[1]'])
def test_label_null_is_refused(tmp_path, capsys, label):
    """Issue 15, defect 6: "label": null became the class "None"."""
    tool = load_tool()
    out = tmp_path / 'ann.json'
    assert tool.main(['anet13', str(_anet13(tmp_path, label)), '--out',
                      str(out), '--fps', '30']) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert 'video "v1" annotation 0: "label" must be a class name' in err
    assert not out.exists()


def test_non_utf8_input_is_named_or_decoded(tmp_path, capsys):
    tool = load_tool()
    src = _anet13(tmp_path, name='caf\u00e9', encoding='latin-1')
    out = tmp_path / 'ann.json'
    assert tool.main(['anet13', str(src), '--out', str(out), '--fps',
                      '30']) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and 'anet.json' in err
    assert 'not utf-8 text' in err and not out.exists()
    assert tool.main(['anet13', str(src), '--out', str(out), '--fps', '30',
                      '--encoding', 'latin-1']) == 0
    assert 'caf\u00e9' in json.loads(out.read_text('utf-8'))['database']
    # text formats too
    csv_file = tmp_path / 'l.csv'
    csv_file.write_bytes('caf\u00e9,1,2,Jump,train,10,30\n'.encode('latin-1'))
    assert tool.main(['csv', str(csv_file), '--out', str(out)]) == 2
    assert 'l.csv: not utf-8 text' in capsys.readouterr().err


@pytest.mark.parametrize('segment', ['"15"', '[NaN, 2.0]', '[1.0]'])
def test_bad_segments_are_refused(tmp_path, capsys, segment):
    tool = load_tool()
    src = tmp_path / 'anet.json'
    src.write_text('{"database": {"v1": {"subset": "training", "duration": '
                   '10.0, "annotations": [{"segment": ' + segment + ', '
                   '"label": "Jump"}]}}}')
    out = tmp_path / 'ann.json'
    assert tool.main(['anet13', str(src), '--out', str(out), '--fps',
                      '30']) == 2
    assert '"segment"' in capsys.readouterr().err and not out.exists()


# Samples in the official formats of the datasets added in issue 18, written
# for these tests in each release's published structure.
SAMPLES = REPO / 'tests' / 'data' / 'annotations'


def test_ego4d_mq_sample():
    out = to_standard(convert('ego4d-mq',
                              [str(SAMPLES / 'ego4d_mq_moments.json')]))
    db = out['database']
    assert sorted(db) == ['clip-a', 'clip-b', 'clip-c']
    a = db['clip-a']
    # one entry per clip, clip-relative times, duration = clip length
    assert a['subset'] == 'train' and a['duration'] == 480.0
    assert a['fps'] == 30.0
    # frames 900..15300 over 480 s; clip-b has no frame range: 30
    assert db['clip-b']['fps'] == 30.0
    # the second annotator's repeat is kept once; non-primary labels go
    assert [(x['label'], x['segment']) for x in a['annotations']] == [
        ('use_phone', [12.5, 40.0]),
        ('wash_dishes_/_utensils_/_bakeware_etc.', [100.0, 130.25])]
    assert db['clip-b']['annotations'] == []
    assert db['clip-c']['subset'] == 'val'


def test_fineaction_sample():
    db = to_standard(convert(
        'fineaction', [str(SAMPLES / 'fineaction_annotations_gt.json')]))[
            'database']
    assert db['v_00000002']['fps'] == 25.0
    assert db['v_00000002']['subset'] == 'validation'
    assert [a['label_id'] for a in db['v_00000001']['annotations']] == [0, 1]
    assert db['v_00000001']['annotations'][1]['segment(frames)'] == \
        [300.0, 435.0]


def test_charades_sample():
    videos = convert('charades', [str(SAMPLES / 'Charades_v1_train.csv'),
                                  str(SAMPLES / 'Charades_v1_test.csv')])
    fill_durations(videos, default_fps=24.0)
    db = to_standard(videos)['database']
    assert db['46GP8']['subset'] == 'training'
    assert db['YSKX3']['subset'] == 'testing'
    assert db['46GP8']['duration'] == 24.83
    assert [(a['label'], a['segment']) for a in db['46GP8']['annotations']
            ] == [('c147', [0.0, 12.6]), ('c092', [11.9, 21.2])]
    assert db['N11GT']['annotations'] == []  # no actions
    # ids: class codes sorted = Charades' own numbering order
    assert [a['label_id'] for a in db['46GP8']['annotations']] == [2, 1]


def test_epic_sounds_sample():
    files = [str(SAMPLES / f) for f in (
        'EPIC_Sounds_train.csv', 'EPIC_Sounds_validation.csv',
        'EPIC_100_video_info.csv')]
    videos = convert('epic-sounds', files)
    assert videos.classes == ['water', 'rustle', 'metal-only collision']
    db = to_standard(videos, videos.classes)['database']
    p = db['P01_01']
    assert p['subset'] == 'training' and p['duration'] == 329.48
    assert p['fps'] == 50.0
    assert [a['segment'] for a in p['annotations']] == [[2.466, 5.315],
                                                        [64.1, 65.0]]
    assert db['P02_01']['subset'] == 'validation'
    # ids: EPIC-Sounds' own class_id (water 0, rustle 1, metal-only 2), not
    # alphabetical
    assert [a['label_id'] for a in p['annotations']] == [1, 2]
    # without the video-info file the durations must come from elsewhere
    videos = convert('epic-sounds', files[:2])
    with pytest.raises(ConversionError, match='no duration'):
        fill_durations(videos)


@pytest.mark.parametrize('fmt,name,old,new,message', [
    ('ego4d-mq', 'ego4d_mq_moments.json', '"video_end_sec": 510.0',
     '"video_end_sec": "510"', 'clip "clip-a": "video_end_sec"'),
    ('ego4d-mq', 'ego4d_mq_moments.json', '"end_time": 130.25',
     '"end_time": null', 'clip "clip-a" annotations[0].labels[1]: '
     '"end_time"'),
    ('fineaction', 'fineaction_annotations_gt.json', '"fps": 25.0',
     '"fps": "25"', 'video "v_00000002": "fps"'),
    ('charades', 'Charades_v1_train.csv', 'c092 11.90 21.20',
     'c092 11.90', 'Charades_v1_train.csv:2: "actions"'),
    ('charades', 'Charades_v1_train.csv', ',24.83', ',n/a',
     'Charades_v1_train.csv:2: "length"'),
    ('epic-sounds', 'EPIC_Sounds_train.csv', '00:00:05.315', '5.315',
     'EPIC_Sounds_train.csv:2: "stop_timestamp"'),
    ('epic-sounds', 'EPIC_Sounds_train.csv', ',class,', ',klass,',
     "EPIC_Sounds_train.csv: header lacks column(s) ['class']"),
    ('epic-sounds', 'EPIC_Sounds_train.csv', 'metal-only collision,2',
     'metal-only collision,1', 'EPIC_Sounds_train.csv:3: "class_id" 1'),
    ('epic-kitchens-verb', 'EPIC_100_train.csv', '00:00:04.37',
     '4.37s', 'EPIC_100_train.csv:3: "start_timestamp"'),
])
def test_malformed_samples_name_file_and_field(tmp_path, capsys, fmt, name,
                                               old, new, message):
    text = (SAMPLES / name).read_text()
    assert old in text
    src = tmp_path / name
    src.write_text(text.replace(old, new, 1))
    rc = load_tool().main([fmt, str(src), '--out', str(tmp_path / 'a.json'),
                           '--fps', '30'])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1, err
    assert message in err and str(src) in err


def test_epic_kitchens_sample(tmp_path, capsys):
    files = [str(SAMPLES / f) for f in (
        'EPIC_100_train.csv', 'EPIC_100_validation.csv',
        'EPIC_100_video_info.csv')]
    out = tmp_path / 'verb.json'
    assert load_tool().main(['epic-kitchens-verb', *files, '--out',
                             str(out)]) == 0, capsys.readouterr()
    db = json.loads(out.read_text())['database']
    assert db['P01_01']['duration'] == 329.48
    assert [(a['label'], a['segment']) for a in db['P01_01']['annotations']
            ] == [('open', [0.14, 3.37]), ('turn-on', [4.37, 6.17])]
    assert db['P02_01']['subset'] == 'validation'
    nouns = convert('epic-kitchens-noun', files)
    assert nouns['P01_02']['instances'] == [('plate', 0.5, 2.0)]
    # the sample's ids (verb_class 0, 3, 6) are not 0..C-1: no official
    # order to keep, names sorted instead
    assert nouns.classes is None


def test_multithumos_sample(tmp_path):
    videos = convert('multithumos-txt', [str(SAMPLES / 'multithumos')])
    assert videos.classes == ['BaseballPitch', 'Jump', 'Stand']
    assert videos['video_test_0000004']['subset'] == 'Test'
    # dense, overlapping labels all kept
    assert sorted(videos['video_test_0000004']['instances']) == [
        ('BaseballPitch', 0.2, 1.1), ('Jump', 0.23, 0.93),
        ('Stand', 0.03, 1.1)]
    with pytest.raises(ConversionError, match='no duration'):
        fill_durations(videos)
    bad = tmp_path / 'Run.txt'
    bad.write_text('clip_7 1.0 2.0\n')
    with pytest.raises(ConversionError, match=r'Run.txt:1: video "clip_7"'):
        convert('multithumos-txt', [str(bad)])


def test_hacs_sample_converts_as_anet13(tmp_path, capsys):
    out = tmp_path / 'hacs.json'
    assert load_tool().main([
        'anet13', str(SAMPLES / 'HACS_segments_sample.json'), '--fps', '2',
        '--out', str(out)]) == 0, capsys.readouterr()
    db = json.loads(out.read_text())['database']
    assert {v['subset'] for v in db.values()} == {'training', 'validation',
                                                  'testing'}
    assert db['abcdEFGH123']['annotations'][1]['segment(frames)'] == \
        [122.0, 160.5]  # at the features' 2 fps
