"""docs/architecture.md stays true: the components it names are registered,
the files it names exist, and every registered component is in its index."""
import inspect
import os.path as osp
import re

import pytest
from mmengine.registry import Registry

import mmtal_zoom  # noqa: F401  (registers everything)
from mmaction import registry as mmaction_registry

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DOC = osp.join(ROOT, 'docs', 'architecture.md')
# registered by mmtal_zoom.compat under MMAction2's own name: not ours
NOT_OURS = {'DRN'}


def ours():
    """{name: (registry, file relative to the repo)} of our components."""
    found = {}
    for attr in dir(mmaction_registry):
        reg = getattr(mmaction_registry, attr)
        if not isinstance(reg, Registry):
            continue
        for name, obj in reg._module_dict.items():
            if getattr(obj, '__module__', '').startswith('mmtal_zoom') \
                    and name not in NOT_OURS:
                found[name] = (attr, osp.relpath(inspect.getsourcefile(obj),
                                                 ROOT))
    return found


def index_rows():
    with open(DOC, encoding='utf-8') as f:
        text = f.read()
    rows = re.findall(r'^\| ([A-Z_]+) \| `(\w+)` \| `([^`]+)` \|', text,
                      flags=re.M)
    return text, rows


def test_the_index_lists_every_registered_component_with_its_file():
    _, rows = index_rows()
    assert len(rows) >= 30  # the parser itself must find the table
    listed = {name: (reg, path) for reg, name, path in rows}
    registered = ours()
    missing = sorted(set(registered) - set(listed))
    assert not missing, f'registered but not in docs/architecture.md: ' \
        f'{missing}'
    for name, (reg, path) in listed.items():
        assert name in registered, f'{name} is in the index, not registered'
        assert (reg, path) == registered[name], name


def test_every_file_the_doc_names_exists():
    text, _ = index_rows()
    paths = set(re.findall(
        r'`((?:mmtal_zoom|tools|tests|configs|docs)/[\w./<>-]*)`', text))
    assert paths
    for path in sorted(paths):
        if '<' in path:
            continue
        assert osp.exists(osp.join(ROOT, path)), path


@pytest.mark.parametrize('name', ['TALHeadWrapper', 'BaseTALHead'])
def test_the_base_classes_it_names_exist(name):
    from mmtal_zoom.models import heads
    assert inspect.isclass(getattr(heads, name))
