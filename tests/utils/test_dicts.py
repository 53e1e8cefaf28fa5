from mmtal_zoom.utils.dicts import update_disjoint


def test_update_disjoint_adds_when_no_key_clashes():
    target = dict(a=1)
    assert update_disjoint(target, dict(b=2)) == []
    assert target == dict(a=1, b=2)


def test_update_disjoint_returns_the_clash_sorted_and_adds_nothing():
    target = dict(b=1, a=1)
    assert update_disjoint(target, dict(c=3, b=2, a=2)) == ['a', 'b']
    assert target == dict(b=1, a=1)
