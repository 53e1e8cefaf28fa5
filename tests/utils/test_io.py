"""mmtal_zoom.utils.io: atomic writes keep the old file on failure and give
new files the mode a plain open() would."""
import os
import stat

import pytest

from mmtal_zoom.utils import (JSONInputError, atomic_open, atomic_write_bytes,
                              atomic_write_json, load_json)
from mmtal_zoom.utils.io import current_umask


@pytest.fixture
def umask():
    """Set a umask for one test and restore the previous one."""
    old = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize('mask', [0o022, 0o077, 0o002])
def test_new_file_mode_follows_umask(tmp_path, umask, mask):
    umask(mask)
    assert current_umask() == mask
    atomic_write_bytes(b'x', str(tmp_path / 'a.bin'))
    atomic_write_json({'a': 1}, str(tmp_path / 'sub' / 'a.json'))
    for name in ('a.bin', 'sub/a.json'):
        assert _mode(tmp_path / name) == 0o666 & ~mask


def test_replacing_keeps_the_old_mode(tmp_path, umask):
    umask(0o022)
    path = tmp_path / 'a.json'
    path.write_text('{}')
    os.chmod(path, 0o640)
    atomic_write_json({'a': 2}, str(path))
    assert _mode(path) == 0o640
    assert path.read_text().strip().startswith('{')


def test_failure_mid_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / 'results.json'
    path.write_text('good')
    with pytest.raises(OSError, match='disk full'):
        with atomic_open(str(path)) as f:
            f.write(b'half of the new')
            raise OSError(28, 'disk full')
    assert path.read_text() == 'good'
    assert sorted(os.listdir(tmp_path)) == ['results.json']  # no temp left


def test_symlink_and_device_targets(tmp_path):
    target = tmp_path / 'real.json'
    target.write_text('old')
    link = tmp_path / 'link.json'
    link.symlink_to(target)
    atomic_write_bytes(b'new', str(link))
    assert link.is_symlink() and target.read_text() == 'new'
    atomic_write_bytes(b'discarded', os.devnull)  # not replaced by a file
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


@pytest.mark.parametrize('content, needle', [
    (b'', 'is empty'),
    (b'   \n', 'is empty'),
    (b'{"a": 1,}', 'not valid JSON: Expecting property name'),
    (b'{"a": 1, "b": {"x": 1, "x": 2}}', 'key "x" appears twice'),
    ('{"vid\u00e9o": 1}'.encode('latin-1'), 'not utf-8 text (byte 0xe9'),
])
def test_load_json_names_file_and_reason(tmp_path, content, needle):
    path = tmp_path / 'in.json'
    path.write_bytes(content)
    with pytest.raises(JSONInputError) as err:
        load_json(str(path), 'annotation file')
    message = str(err.value)
    assert message.startswith(f'annotation file {path}') and needle in message
    assert '\n' not in message


def test_load_json_ok_bom_nan_and_other_encoding(tmp_path):
    path = tmp_path / 'in.json'
    path.write_bytes(b'\xef\xbb\xbf{"a": NaN}')
    assert load_json(str(path))['a'] != load_json(str(path))['a']  # NaN
    path.write_bytes('{"vid\u00e9o": 1}'.encode('latin-1'))
    assert load_json(str(path), encoding='latin-1') == {'vid\u00e9o': 1}
    with pytest.raises(FileNotFoundError, match='nope.json'):
        load_json(str(tmp_path / 'nope.json'))


def test_text_and_figure_writers_are_atomic(tmp_path):
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot as plt

    from mmtal_zoom.utils import atomic_save_figure, atomic_write_text
    text = tmp_path / 'report.md'
    atomic_write_text('| a |\n', str(text))
    assert text.read_text() == '| a |\n'
    fig = plt.figure()
    png = tmp_path / 'plot.png'
    atomic_save_figure(fig, str(png), dpi=20)
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'

    class Failing:
        def savefig(self, f, **kwargs):
            f.write(b'half')
            raise RuntimeError('renderer failed')

    with pytest.raises(RuntimeError, match='renderer failed'):
        atomic_save_figure(Failing(), str(png))
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'  # old one kept
    plt.close(fig)
    assert sorted(os.listdir(tmp_path)) == ['plot.png', 'report.md']
