"""tools/analysis/actionformer_official_run.py: a checkout whose NMS
extension cannot serve the official post-processing is refused before the
training starts, in one line that names the fix."""
import sys
import types
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_helpers import load_tool as load  # noqa: E402


def load_tool():
    return load('analysis/actionformer_official_run')


def fake_extension(*functions):
    module = types.ModuleType('nms_1d_cpu')
    module.__file__ = '/checkout/libs/utils/nms_1d_cpu.py'
    for name in functions:
        setattr(module, name, lambda *a, **k: None)
    return module


def test_a_complete_extension_passes(monkeypatch):
    monkeypatch.setitem(sys.modules, 'nms_1d_cpu',
                        fake_extension('nms', 'softnms'))
    load_tool().check_nms_extension('/checkout')


@pytest.mark.parametrize('present,missing', [((), 'nms / softnms'),
                                             (('nms', ), 'softnms')])
def test_an_empty_build_is_refused_in_one_line(monkeypatch, present,
                                               missing):
    # an egg whose loader did not load the library imports as such a module
    monkeypatch.setitem(sys.modules, 'nms_1d_cpu', fake_extension(*present))
    with pytest.raises(SystemExit) as err:
        load_tool().check_nms_extension('/checkout')
    msg = str(err.value)
    assert '\n' not in msg
    assert msg.startswith('/checkout/libs/utils/nms_1d_cpu.py: ')
    assert f'has no {missing};' in msg
    assert 'cd /checkout/libs/utils && python setup.py build_ext --inplace' \
        in msg


def test_a_missing_extension_is_refused_in_one_line(monkeypatch):
    # None in sys.modules makes the import raise ImportError
    monkeypatch.setitem(sys.modules, 'nms_1d_cpu', None)
    with pytest.raises(SystemExit) as err:
        load_tool().check_nms_extension('/checkout')
    msg = str(err.value)
    assert '\n' not in msg and msg.startswith('nms_1d_cpu: cannot import')
    assert 'build_ext --inplace' in msg
