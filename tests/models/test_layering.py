"""Layering as in mmdetection: models build on structures/ and utils/, never
on evaluation/, datasets/ or apis/ (which build on models)."""
import ast
import os.path as osp
from pathlib import Path

import pytest

PKG = Path(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))) \
    / 'mmtal_zoom'
FORBIDDEN = ('evaluation', 'datasets', 'apis')


def _imported_packages(path: Path):
    """(line, top-level mmtal_zoom sub-package) of every import of ``path``
    that resolves inside mmtal_zoom, relative imports included."""
    module_parts = path.relative_to(PKG.parent).with_suffix('').parts
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = module_parts[:len(module_parts) - node.level]
                name = '.'.join(base + tuple(
                    (node.module or '').split('.'))).strip('.')
            else:
                name = node.module or ''
            names = [name]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split('.')
            if parts[0] == 'mmtal_zoom' and len(parts) > 1:
                yield node.lineno, parts[1]


def test_checker_sees_relative_imports(tmp_path):
    # the checker itself must be able to fail
    bad = PKG / 'models' / 'heads' / 'base_tal_head.py'
    lines = list(_imported_packages(bad))
    assert any(pkg == 'structures' for _, pkg in lines)


@pytest.mark.parametrize('path', sorted((PKG / 'models').rglob('*.py')),
                         ids=lambda p: str(p.relative_to(PKG)))
def test_models_do_not_import_evaluation_datasets_or_apis(path):
    bad = [(line, pkg) for line, pkg in _imported_packages(path)
           if pkg in FORBIDDEN]
    assert not bad, (f'{path.relative_to(PKG.parent)} imports '
                     + ', '.join(f'mmtal_zoom.{p} (line {n})'
                                 for n, p in bad))
