"""tools/analysis/robustness.py: the data facts it writes into a config."""
import importlib.util
import json
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def _tool():
    spec = importlib.util.spec_from_file_location(
        'mmtal_zoom_robustness_tool', REPO / 'tools/analysis/robustness.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_class_count_is_what_the_dataset_derives(tmp_path):
    """A generator asked for 5 classes that drew only 3: the model must get
    3 outputs, as the dataset indexes the 3 that occur (a 5-way model then
    predicts labels the metric rightly refuses)."""
    db = {}
    for i, label in enumerate(['b', 'a', 'c', 'a']):
        db[f'v{i}'] = dict(subset='train', duration=10.0, fps=30.0,
                           annotations=[dict(label=label,
                                             segment=[1.0, 2.0])])
    ann = dict(version='1', database=db,
               generator=dict(num_classes=5, feat_stride=4, num_frames=16))
    (tmp_path / 'annotations.json').write_text(json.dumps(ann))
    (tmp_path / 'features').mkdir()
    np.save(tmp_path / 'features' / 'v0.npy', np.zeros((8, 7), np.float32))
    info = _tool().tal_data_info(str(tmp_path))
    assert info['num_classes'] == 3
    assert info['feat_dim'] == 7
    assert (info['feat_stride'], info['num_frames']) == (4, 16)
