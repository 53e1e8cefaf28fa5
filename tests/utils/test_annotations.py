"""The one definition of an annotation JSON's class names (label-id order)
shared by TALFeatureDataset, the classifier fusion and eval_detection."""
import pytest

from mmtal_zoom.utils.annotations import (classes_from_database,
                                          label_ids_of_database)


def db(*videos):
    return {f'v{i}': dict(subset='test', annotations=anns)
            for i, anns in enumerate(videos)}


def ann(label=None, label_id=None):
    out = dict(segment=[0.0, 1.0])
    if label is not None:
        out['label'] = label
    if label_id is not None:
        out['label_id'] = label_id
    return out


def test_order_is_label_id_then_name():
    d = db([ann('b', 1), ann('z', 0)], [ann('a'), ann('c', 2)], None)
    assert classes_from_database(d) == ('z', 'b', 'c', 'a')
    assert label_ids_of_database(d) == dict(b=1, z=0, a=None, c=2)
    # no ids at all: alphabetical; a missing label is its id's string
    assert classes_from_database(db([ann('b'), ann('a')])) == ('a', 'b')
    assert classes_from_database(db([ann(label_id=3)])) == ('3', )
    assert classes_from_database({}) == ()


@pytest.mark.parametrize('anns,match', [
    ([ann('A', 0), ann('A', 1)], '"A" has label_id 0 and 1 \\(video "v0"\\)'),
    ([ann('A', 0), ann('A')], '"A" has label_id 0 and None'),
    ([ann('A', 0), ann('B', 0)], 'label_id 0 names both "A" and "B"'),
])
def test_conflicts_are_value_errors_naming_the_video(anns, match):
    with pytest.raises(ValueError, match=match):
        classes_from_database(db(anns))
