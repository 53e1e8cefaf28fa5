"""Install mmtal_zoom, an MMAction2 plugin for temporal action localization."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def parse_requirements(path):
    """Read a pip requirements file, skipping comments and blank lines."""
    lines = (HERE / path).read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith('#')]


setup(
    name='mmtal_zoom',
    version='0.1.0',
    description='Temporal action localization plugin for MMAction2: '
    'Temporal Zoom Networks (BDR, ATR), RCL and CLTDR-GMG.',
    long_description=(HERE / 'README.md').read_text()
    if (HERE / 'README.md').exists() else '',
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    python_requires='>=3.9',
    install_requires=parse_requirements('requirements/runtime.txt'),
    extras_require={'tests': parse_requirements('requirements/tests.txt')},
    license='Apache-2.0',
)
