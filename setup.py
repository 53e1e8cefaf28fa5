"""Install mmtal_zoom, an MMAction2 plugin for temporal action localization.

Installing into an existing OpenMMLab environment changes nothing in it:

* the dependencies are version *ranges* (``mmtal_zoom/version.py``), so an
  installed torch build (CUDA or not), mmengine and mmaction2 in range stay;
* a full ``mmcv`` that is already installed is kept: ``mmcv-lite`` is
  required only when no ``mmcv`` distribution is found in the environment
  being installed into (its version is checked on ``import mmtal_zoom``).

The exact versions CI tests are in ``requirements/constraints.txt``
(``pip install -c requirements/constraints.txt -e .[tests]``; the Makefile
does this). ``tools``, ``configs`` and ``model-index.yml`` are packaged under
``mmtal_zoom/.mim`` for OpenMMLab's ``mim`` (as MMAction2's setup.py does).
"""
import os
import os.path as osp
import shutil
import sys
import sysconfig
import warnings
from importlib import metadata
from pathlib import Path
from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent
VERSION_FILE = 'mmtal_zoom/version.py'
MIM_FILES = ('tools', 'configs', 'model-index.yml')


def read_version_file() -> dict:
    """Execute ``mmtal_zoom/version.py`` without importing the package (it
    imports torch, mmengine, ...), returning its namespace."""
    namespace = {}
    path = HERE / VERSION_FILE
    exec(compile(path.read_text(), str(path), 'exec'), namespace)
    return namespace


def parse_requirements(path):
    """Read a pip requirements file, skipping comments and blank lines."""
    lines = (HERE / path).read_text().splitlines()
    lines = (ln.split('#', 1)[0].strip() for ln in lines)
    return [ln for ln in lines if ln]


def _target_site_dirs() -> list:
    """Where the environment being installed into keeps its distributions.

    Under pip's build isolation its site-packages are removed from
    ``sys.path`` (but ``sysconfig`` still names them), and the ``.pth`` files
    there (legacy editable installs) are not processed: both are added.
    """
    dirs = []
    for key in ('purelib', 'platlib'):
        site_dir = sysconfig.get_paths()[key]
        if site_dir in dirs or not osp.isdir(site_dir):
            continue
        dirs.append(site_dir)
        for pth in Path(site_dir).glob('*.pth'):
            for line in pth.read_text(errors='ignore').splitlines():
                line = line.strip()
                if line and not line.startswith(('#', 'import')) \
                        and osp.isdir(line):
                    dirs.append(line)
    return dirs


def full_mmcv_installed(paths=None) -> bool:
    """Whether a full ``mmcv`` distribution (not ``mmcv-lite``) is installed
    in the environment being installed into (or on ``paths``)."""
    if paths is None:
        paths = list(sys.path) + _target_site_dirs()
    return any(True for _ in metadata.distributions(name='mmcv', path=paths))


def install_requires() -> list:
    """Ranges of ``mmtal_zoom/version.py`` + ``requirements/runtime.txt``;
    no mmcv requirement when a full mmcv is installed (kept as it is)."""
    version = read_version_file()
    requires = []
    for package in version['DEPENDENCY_VERSIONS']:
        if package == 'mmcv':
            if full_mmcv_installed():
                continue
            requires.append(version['requirement'](package, 'mmcv-lite'))
        else:
            requires.append(version['requirement'](package))
    return requires + parse_requirements('requirements/runtime.txt')


def add_mim_extension():
    """Put ``tools``, ``configs`` and ``model-index.yml`` into
    ``mmtal_zoom/.mim``, where OpenMMLab's ``mim`` looks for them
    (``mim train mmtal_zoom CONFIG``, ``mim run mmtal_zoom eval_detection``).

    Symbolic links for an editable install (``pip install -e .``), copies
    for a wheel or an sdist (``pip install .``), as MMAction2's setup.py does;
    ``editable_wheel`` is the command of PEP 660 editable installs.
    """
    if 'develop' in sys.argv or 'editable_wheel' in sys.argv:
        mode = 'symlink'
    elif 'sdist' in sys.argv or 'bdist_wheel' in sys.argv:
        mode = 'copy'
    else:
        return
    mim_path = HERE / 'mmtal_zoom' / '.mim'
    mim_path.mkdir(exist_ok=True)
    for name in MIM_FILES:
        src, tar = HERE / name, mim_path / name
        if not src.exists():
            continue
        if tar.is_symlink() or tar.is_file():
            tar.unlink()
        elif tar.is_dir():
            shutil.rmtree(tar)
        if mode == 'symlink':
            try:
                os.symlink(osp.relpath(src, tar.parent), tar)
                continue
            except OSError:  # e.g. no symlink privilege on Windows
                warnings.warn(f'Failed to link {src}; copying it instead.')
        if src.is_dir():
            shutil.copytree(
                src,
                tar,
                ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        else:
            shutil.copyfile(src, tar)


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='mmtal_zoom',
        version=read_version_file()['__version__'],
        description='Temporal action localization plugin for MMAction2: '
        'Temporal Zoom Networks (BDR, ATR), RCL and CLTDR-GMG.',
        long_description=(HERE / 'README.md').read_text(encoding='utf-8'),
        long_description_content_type='text/markdown',
        packages=find_packages(
            exclude=('tests', 'tests.*', 'configs', 'tools', 'tools.*')),
        include_package_data=True,
        python_requires='>=3.9',
        install_requires=install_requires(),
        extras_require={'tests': parse_requirements('requirements/tests.txt')},
        license='Apache-2.0',
        license_files=['LICENSE'],
        classifiers=[
            'Operating System :: OS Independent',
            'Programming Language :: Python :: 3',
            'Topic :: Scientific/Engineering :: Artificial Intelligence',
        ],
        zip_safe=False)
