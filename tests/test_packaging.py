"""Packaging (issue 17): one version source, dependency ranges that keep a
user's environment (their torch build, a full mmcv) as it is, the version
check on import, and the ``.mim`` layout OpenMMLab's ``mim`` reads."""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from mmengine.utils import digit_version

import mmtal_zoom
from mmtal_zoom import version as version_mod
from mmtal_zoom.utils import version_check

REPO = Path(__file__).resolve().parents[1]
# what a source distribution of mmtal_zoom needs (MANIFEST.in + packages)
SOURCE_FILES = ('setup.py', 'setup.cfg', 'MANIFEST.in', 'README.md',
                'LICENSE', 'CHANGELOG.md', 'model-index.yml')
SOURCE_DIRS = ('mmtal_zoom', 'requirements', 'tools', 'configs')
IN_RANGE = dict(torch='2.13.0+cpu', mmengine='0.10.7', mmcv='2.1.0',
                mmaction2='1.2.0', numpy='2.3.5')


def load_setup():
    """``setup.py`` as a module (``setup()`` only runs as ``__main__``)."""
    spec = importlib.util.spec_from_file_location('mmtal_zoom_setup',
                                                  REPO / 'setup.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pip(*args, python=None, timeout=300):
    """The test interpreter's pip, acting on ``python``'s environment (and on
    nothing else: no PYTHONPATH, no user site)."""
    target = ['--python', str(python)] if python else []
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK='1', PYTHONNOUSERSITE='1')
    return subprocess.run(
        [sys.executable, '-m', 'pip', *target, *map(str, args)],
        capture_output=True, text=True, timeout=timeout, env=env)


# ---------------------------------------------------------------------------
# one version source
# ---------------------------------------------------------------------------
def test_one_version_source():
    setup_ns = load_setup().read_version_file()
    assert mmtal_zoom.__version__ == version_mod.__version__ \
        == setup_ns['__version__']
    assert mmtal_zoom.version_info == version_mod.parse_version_info(
        version_mod.__version__)
    assert version_mod.parse_version_info('2.0.0rc4') == (2, 0, 0, 'rc4')
    assert version_mod.parse_version_info('0.2.0.dev0') == (0, 2, 0, 'dev0')
    changelog = (REPO / 'CHANGELOG.md').read_text()
    assert '## Unreleased' in changelog and '## 0.1.0' in changelog
    assert 'Apache License' in (REPO / 'LICENSE').read_text()


# ---------------------------------------------------------------------------
# ranges, not pins; mmcv or mmcv-lite
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('full_mmcv', [False, True])
def test_install_requires_are_ranges(full_mmcv, monkeypatch):
    setup_mod = load_setup()
    monkeypatch.setattr(setup_mod, 'full_mmcv_installed', lambda: full_mmcv)
    requires = setup_mod.install_requires()
    names = [r.split('>')[0].split('<')[0].split('=')[0] for r in requires]
    assert not [r for r in requires if '==' in r], requires
    assert 'torch>=2.6.0' in requires
    assert 'mmaction2>=1.2.0,<2.0.0' in requires
    assert 'numpy>=1.24.0,<2.4.0' in requires
    if full_mmcv:  # kept as it is: neither mmcv-lite nor an mmcv pin
        assert 'mmcv-lite' not in names and 'mmcv' not in names
    else:
        assert 'mmcv-lite>=2.0.0rc4,<2.2.0' in requires


def test_full_mmcv_found_in_the_target_environment(tmp_path, monkeypatch):
    """Under pip's build isolation the target's site-packages are off
    sys.path: setup.py searches them (and the folders their .pth files
    add), and counts a full mmcv only, not mmcv-lite."""
    setup_mod = load_setup()
    site, legacy = tmp_path / 'site-packages', tmp_path / 'src'
    legacy.mkdir()
    _write_stub(site, 'mmcv-lite', '2.1.0')
    (site / 'easy-install.pth').write_text(f'import sys\n{legacy}\n')
    paths = dict(sysconfig.get_paths(), purelib=str(site), platlib=str(site))
    monkeypatch.setattr(sysconfig, 'get_paths', lambda: paths)
    assert setup_mod._target_site_dirs() == [str(site), str(legacy)]
    assert not setup_mod.full_mmcv_installed([str(site), str(legacy)])
    _write_stub(legacy, 'mmcv', '2.1.0')  # e.g. a `setup.py develop` build
    assert setup_mod.full_mmcv_installed([str(site), str(legacy)])


def test_tested_stack_lies_in_the_ranges():
    pins = {}
    for line in (REPO / 'requirements/constraints.txt').read_text(
    ).splitlines():
        if line and not line.startswith('#'):
            name, _, ver = line.partition('==')
            pins[name.lower()] = ver
    pins['mmcv'] = pins['mmcv-lite']
    for package, (low, high) in version_mod.DEPENDENCY_VERSIONS.items():
        found = digit_version(pins[package])
        assert digit_version(low) <= found, package
        assert high is None or found < digit_version(high), package


# ---------------------------------------------------------------------------
# the version check on import
# ---------------------------------------------------------------------------
def test_version_check_accepts_the_tested_stack(recwarn):
    assert version_check.check_dependency_versions(IN_RANGE) == IN_RANGE
    assert not [w for w in recwarn if 'mmtal_zoom' in str(w.message)]


@pytest.mark.parametrize('package,found,needs', [
    ('torch', '2.5.1', 'torch>=2.6.0 (found 2.5.1)'),
    ('mmengine', '0.9.1', 'mmengine>=0.10.0,<1.0.0 (found 0.9.1)'),
    ('mmcv', '1.7.2', 'mmcv>=2.0.0rc4,<2.2.0 (found 1.7.2)'),
    ('mmaction2', None, 'mmaction2>=1.2.0,<2.0.0 (not installed)'),
])
def test_version_check_names_package_and_range(package, found, needs,
                                               monkeypatch):
    monkeypatch.delenv(version_check.SKIP_ENV, raising=False)
    with pytest.raises(version_check.DependencyVersionError) as err:
        version_check.check_dependency_versions({**IN_RANGE, package: found})
    msg = str(err.value)
    assert msg.startswith('mmtal_zoom needs ' + needs) and '\n' not in msg
    assert version_check.SKIP_ENV in msg
    # the escape hatch turns it into a warning
    monkeypatch.setenv(version_check.SKIP_ENV, '1')
    with pytest.warns(UserWarning, match='needs ' + needs.split(' ')[0]):
        version_check.check_dependency_versions({**IN_RANGE, package: found})


def test_version_check_warns_above_the_tested_maximum():
    with pytest.warns(UserWarning, match=r'numpy>=1\.24\.0,<2\.4\.0 '
                      r'\(found 2\.4\.1, untested\)'):
        version_check.check_dependency_versions({**IN_RANGE,
                                                 'numpy': '2.4.1'})


def test_import_reports_an_old_torch_in_one_line():
    """``import mmtal_zoom`` (what ``custom_imports`` does) with an older
    torch reported by the package metadata."""
    code = ('import importlib.metadata as m; v = m.version; '
            'm.version = lambda n: "2.5.1" if n == "torch" else v(n); '
            'import mmtal_zoom')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, timeout=120, cwd=REPO,
                          env={k: v for k, v in os.environ.items()
                               if k != version_check.SKIP_ENV})
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last == ('mmtal_zoom.utils.version_check.DependencyVersionError: '
                    'mmtal_zoom needs torch>=2.6.0 (found 2.5.1): install a '
                    'version in that range, or set '
                    'MMTAL_ZOOM_SKIP_VERSION_CHECK=1 to try anyway.')


# ---------------------------------------------------------------------------
# installing into an environment that has another torch and a full mmcv
# ---------------------------------------------------------------------------
def _write_stub(site, name, version, module=None):
    """A stub distribution: metadata (and an importable module) only."""
    info = site / f'{name.replace("-", "_")}-{version}.dist-info'
    info.mkdir(parents=True)
    (info / 'METADATA').write_text(
        f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n')
    (info / 'INSTALLER').write_text('stub\n')
    (info / 'RECORD').write_text('')
    if module:
        (site / module).mkdir()
        (site / module / '__init__.py').write_text(
            f'__version__ = {version!r}\n')


# a user's OpenMMLab environment: a CUDA torch build other than ours, the
# full mmcv (not mmcv-lite), and the rest of what mmtal_zoom requires
USER_ENV = {'torch': '2.7.1+cu126', 'mmcv': '2.1.0', 'mmengine': '0.10.4',
            'mmaction2': '1.2.0', 'numpy': '1.26.4', 'scipy': '1.11.4',
            'matplotlib': '3.8.2', 'tqdm': '4.66.1', 'decord': '0.6.0',
            'importlib-metadata': '7.0.1'}


@pytest.fixture(scope='module')
def source_tree(tmp_path_factory):
    """A copy of what a source distribution holds (building in the checkout
    would replace the editable install's ``.mim`` links with copies)."""
    src = tmp_path_factory.mktemp('src') / 'mmtal_zoom_src'
    ignore = shutil.ignore_patterns('__pycache__', '*.pyc', '.mim',
                                    '*.egg-info')
    for name in SOURCE_DIRS:
        shutil.copytree(REPO / name, src / name, ignore=ignore)
    for name in SOURCE_FILES:
        shutil.copy(REPO / name, src / name)
    return src


def _venv_with_stubs(root):
    """A fresh venv (no pip: the test interpreter's ``pip --python`` acts on
    it; no network) holding the stubs of :data:`USER_ENV`, plus this
    interpreter's setuptools as the build backend."""
    import setuptools
    venv = root / 'venv'
    proc = subprocess.run([sys.executable, '-m', 'venv', '--without-pip',
                           str(venv)], capture_output=True, text=True,
                          timeout=120)
    if proc.returncode != 0:
        pytest.skip(f'cannot create a venv here: {proc.stderr.strip()[-300:]}')
    py = venv / 'bin' / 'python'
    site = Path(subprocess.check_output(
        [str(py), '-c', 'import sysconfig; '
         'print(sysconfig.get_paths()["purelib"])'], text=True).strip())
    for name, ver in USER_ENV.items():
        _write_stub(site, name, ver,
                    module=name if name in ('torch', 'mmcv') else None)
    host = Path(setuptools.__file__).parent.parent
    for entry in ['setuptools', '_distutils_hack', 'pkg_resources'] + [
            p.name for p in host.glob('setuptools-*.dist-info')]:
        if (host / entry).exists():
            (site / entry).symlink_to(host / entry)
    return py, site


def test_install_keeps_another_torch_and_a_full_mmcv(source_tree, tmp_path):
    py, site = _venv_with_stubs(tmp_path)
    if pip('--version', python=py).returncode != 0:
        pytest.skip('this pip cannot act on another environment '
                    '(--python needs pip >= 22.3)')
    # 1. a full install (with dependencies) would add mmtal_zoom and nothing
    # else: every requirement is met by what is there
    report = tmp_path / 'report.json'
    proc = pip('install', '--dry-run', '--no-index', '--no-build-isolation',
               '--report', report, source_tree, python=py)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    planned = json.loads(report.read_text())['install']
    assert [p['metadata']['name'] for p in planned] == ['mmtal_zoom']
    requires = planned[0]['metadata']['requires_dist']
    assert not [r for r in requires if r.startswith('mmcv')], requires
    assert 'torch>=2.6.0' in requires
    # 2. install it (--no-deps, as the issue asks) and compare
    proc = pip('install', '--no-deps', '--no-index', '--no-build-isolation',
               source_tree, python=py)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    listed = pip('list', '--format', 'json', python=py)
    installed = {p['name'].lower(): p['version']
                 for p in json.loads(listed.stdout)}
    for name, ver in USER_ENV.items():
        assert installed[name] == ver, f'{name} was replaced'
    assert 'mmcv-lite' not in installed
    assert installed['mmtal_zoom'] == mmtal_zoom.__version__
    check = pip('check', python=py)
    assert check.returncode == 0, check.stdout + check.stderr
    # 3. the wheel carries mim's files as copies (no links to the checkout)
    mim_dir = site / 'mmtal_zoom' / '.mim'
    for rel in ('tools/train.py', 'tools/test.py', 'tools/eval_detection.py',
                'tools/dist_train.sh',
                'configs/baseline/'
                'actionformer_synthetic-feat_1xb2-30e_embedded.py',
                'configs/baseline/baseline_embedded.py',  # deprecated name
                'configs/baseline/metafile.yml', 'configs/baseline/README.md',
                'configs/_base_/default_runtime.py', 'model-index.yml'):
        assert (mim_dir / rel).is_file(), rel
        assert not (mim_dir / rel).is_symlink()


# ---------------------------------------------------------------------------
# OpenMMLab's mim on an installed (not editable) mmtal_zoom
# ---------------------------------------------------------------------------
def _mim_importable():
    """openmim and the pkg_resources it imports (setuptools < 82)."""
    if importlib.util.find_spec('mim') is None:
        return 'openmim is not installed (requirements/tests.txt has it)'
    if importlib.util.find_spec('pkg_resources') is None:
        return 'openmim needs pkg_resources (setuptools < 82)'
    return None


@pytest.fixture(scope='module')
def installed_copy(source_tree, tmp_path_factory):
    """mmtal_zoom installed from a wheel into its own folder (put first on
    PYTHONPATH): where mim looks for it, ``<location>/mmtal_zoom/.mim``.
    An editable install does not work with openmim 0.3.9: it looks in
    site-packages (see docs/tools.md)."""
    reason = _mim_importable()
    if reason:
        pytest.skip(reason)
    target = tmp_path_factory.mktemp('installed')
    proc = pip('install', '--no-deps', '--no-index', '--no-build-isolation',
               '--target', target, source_tree)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return target


def mim(args, installed, cwd):
    env = dict(os.environ, PYTHONPATH=str(installed), OMP_NUM_THREADS='1',
               PYTHONWARNINGS='ignore::UserWarning')
    proc = subprocess.run([sys.executable, '-m', 'mim', *map(str, args)],
                          cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.mark.slow
def test_mim_train_test_and_run(installed_copy, tiny_baseline_config,
                                tiny_tal_dataset, tmp_path):
    work = tmp_path / 'work'
    tools = installed_copy / 'mmtal_zoom' / '.mim' / 'tools'
    proc = mim(['train', 'mmtal_zoom', tiny_baseline_config, '--work-dir',
                work, '--seed', '0', '--cfg-options', 'train_cfg.max_epochs=1',
                'train_cfg.val_begin=1'], installed_copy, tmp_path)
    assert f'{tools}/train.py' in proc.stdout  # the packaged tool ran
    ckpt = work / 'epoch_1.pth'
    assert ckpt.is_file()
    results = tmp_path / 'results.json'
    mim(['test', 'mmtal_zoom', tiny_baseline_config, '--checkpoint', ckpt,
         '--work-dir', work, '--out', results], installed_copy, tmp_path)
    logged = [json.loads(line) for f in work.glob('*/*.json')
              for line in f.read_text().splitlines()]
    test_map = [r['tal/average_mAP'] for r in logged
                if 'tal/average_mAP' in r][-1]
    # mim run: any script under tools/, with its own arguments
    metrics = tmp_path / 'metrics.json'
    mim(['run', 'mmtal_zoom', 'eval_detection', '--gt',
         tiny_tal_dataset / 'annotations.json', '--pred', results, '--subset',
         'test', '--out', metrics], installed_copy, tmp_path)
    assert json.loads(metrics.read_text())['average_mAP'] == pytest.approx(
        test_map, abs=1e-6)
    # openmim answers --help itself for packages outside its own list:
    # a script's help needs `--`
    usage = mim(['run', 'mmtal_zoom', 'eval_detection', '--', '--help'],
                installed_copy, tmp_path)
    assert 'usage: eval_detection.py' in usage.stdout
    # the packaged model index is one mim's model-index reader accepts,
    # listing the checkout's models with configs packaged beside it
    from modelindex.load_model_index import load
    mim_root = installed_copy / 'mmtal_zoom' / '.mim'
    index = load(str(mim_root / 'model-index.yml'))
    ours = load(str(REPO / 'model-index.yml'))
    assert [m.name for m in index.models] == [m.name for m in ours.models]
    assert len(index.models) > 0
    for model in index.models:
        assert (mim_root / model.config).is_file(), model.config
