"""The single source of mmtal_zoom's version and of the dependency ranges it
is tested against.

No imports: ``setup.py`` executes this file without importing the package
(MMAction2's ``get_version`` pattern), and ``import mmtal_zoom`` checks the
installed versions against :data:`DEPENDENCY_VERSIONS`
(:mod:`mmtal_zoom.utils.version_check`).
"""

__version__ = '0.2.0.dev0'

# distribution -> (minimum, inclusive; maximum, exclusive or None). The exact
# versions of the tested stack are in requirements/constraints.txt.
DEPENDENCY_VERSIONS = {
    # torch.load(weights_only=True) by default and (callable, 'module.name')
    # entries in torch.serialization.add_safe_globals / safe_globals, which
    # mmtal_zoom.compat's checkpoint allow-list uses, are torch 2.6 features.
    'torch': ('2.6.0', None),
    'mmengine': ('0.10.0', '1.0.0'),
    # mmaction2 1.x asserts 2.0.0rc4 <= mmcv < 2.2.0; either the full build
    # (distribution 'mmcv') or 'mmcv-lite' (setup.py keeps a full mmcv).
    'mmcv': ('2.0.0rc4', '2.2.0'),
    'mmaction2': ('1.2.0', '2.0.0'),
    # numpy 2.4 removed np.trapz, which mmaction2's ANetMetric calls.
    'numpy': ('1.24.0', '2.4.0'),
}


def requirement(package: str, distribution: str = None) -> str:
    """The pip requirement for a package of :data:`DEPENDENCY_VERSIONS`:
    ``requirement('torch')`` -> ``'torch>=2.6.0'``,
    ``requirement('mmcv', 'mmcv-lite')`` -> ``'mmcv-lite>=2.0.0rc4,<2.2.0'``.
    """
    low, high = DEPENDENCY_VERSIONS[package]
    return f'{distribution or package}>={low}' + (f',<{high}' if high else '')


def parse_version_info(version_str: str) -> tuple:
    """``'0.2.0'`` -> ``(0, 2, 0)``; ``'0.2.0.dev0'`` -> ``(0, 2, 0, 'dev0')``;
    ``'2.0.0rc4'`` -> ``(2, 0, 0, 'rc4')`` (as MMAction2's version.py)."""
    info = []
    for part in version_str.split('.'):
        if part.isdigit():
            info.append(int(part))
        elif 'rc' in part:
            major, rc = part.split('rc', 1)
            info.extend([int(major), f'rc{rc}'])
        else:
            info.append(part)
    return tuple(info)


version_info = parse_version_info(__version__)
