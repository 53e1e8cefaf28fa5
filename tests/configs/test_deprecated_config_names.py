"""The configs' names before the model-zoo names (issue 17) still load and
train identically: each old path holds a config marked deprecated that only
inherits its new name, and the two dump to the same config."""
import ast
from pathlib import Path

import pytest
from mmengine.config import Config

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'

# old path -> model-zoo name (configs/README.md, "Config names")
DEPRECATED = {
    'baseline/baseline_embedded.py':
    'baseline/actionformer_synthetic-feat_1xb2-30e_embedded.py',
    'baseline/baseline_thumos14_i3d.py':
    'baseline/actionformer_i3d-feat_1xb2-35e_thumos14.py',
    'cltdr_gmg/cltdr_gmg_embedded.py':
    'cltdr_gmg/cltdr-gmg_synthetic-feat_1xb2-30e_embedded.py',
    'cltdr_gmg/cltdr_gmg_thumos14_i3d.py':
    'cltdr_gmg/cltdr-gmg_i3d-feat_1xb2-40e_thumos14.py',
    'cltdr_gmg/cltdr_gmg_thumos14_i3d_official.py':
    'cltdr_gmg/cltdr-gmg-official_i3d-feat_1xb2-40e_thumos14.py',
    'cltdr_gmg/cltdr_gmg_multithumos_i3d.py':
    'cltdr_gmg/cltdr-gmg_i3d-feat_1xb2-60e_multithumos.py',
    'cltdr_gmg/cltdr_gmg_epic_kitchens100_verb_slowfast.py':
    'cltdr_gmg/cltdr-gmg_slowfast-feat_1xb2-28e_epic-kitchens100-verb.py',
    'cltdr_gmg/cltdr_gmg_epic_kitchens100_noun_slowfast.py':
    'cltdr_gmg/cltdr-gmg_slowfast-feat_1xb2-25e_epic-kitchens100-noun.py',
    'cltdr_gmg/cltdr_gmg_anet13_tsp.py':
    'cltdr_gmg/cltdr-gmg_tsp-feat_1xb16-15e_activitynet.py',
    'cltdr_gmg/cltdr_gmg_hacs_i3d.py':
    'cltdr_gmg/cltdr-gmg_i3d-feat_1xb16-17e_hacs.py',
    'rcl/baseline_rcl_embedded.py':
    'rcl/actionformer-rcl_synthetic-feat_1xb2-30e_embedded.py',
    'rcl/bmn_anet_embedded.py':
    'rcl/bmn_synthetic-feat_1xb2-8e_embedded-anet.py',
    'rcl/bmn_rcl_anet_embedded.py':
    'rcl/bmn-rcl_synthetic-feat_1xb2-8e_embedded-anet.py',
    'rcl/bmn_rcl_anet_tsn.py':
    'rcl/bmn-rcl_tsn-feat_2xb8-10e_activitynet.py',
    'zoom/zoom_uniform_embedded.py':
    'zoom/temporal-zoom-uniform_synthetic-feat_1xb2-30e_embedded.py',
    'zoom/zoom_atr_embedded.py':
    'zoom/temporal-zoom-atr_synthetic-feat_1xb2-30e_embedded.py',
    'zoom/zoom_atr_nobdr_embedded.py':
    'zoom/temporal-zoom-atr-nobdr_synthetic-feat_1xb2-30e_embedded.py',
    'zoom/zoom_atr_thumos14_i3d.py':
    'zoom/temporal-zoom-atr_i3d-feat_1xb2-35e_thumos14.py',
    'zoom/baseline_bdr_embedded.py':
    'zoom/actionformer-bdr_synthetic-feat_1xb2-30e_embedded.py',
    'zoom/cltdr_gmg_bdr_embedded.py':
    'zoom/cltdr-gmg-bdr_synthetic-feat_1xb2-30e_embedded.py',
}


@pytest.mark.parametrize('old,new', sorted(DEPRECATED.items()))
def test_old_path_is_a_deprecated_alias_of_the_new_name(old, new):
    text = (CONFIGS / old).read_text()
    assert text.startswith('# DEPRECATED'), f'{old} is not marked deprecated'
    # nothing but the inheritance: the old path cannot drift from the new
    body = ast.parse(text).body
    assert len(body) == 1 and body[0].targets[0].id == '_base_'
    assert ast.literal_eval(body[0].value) == [f'./{Path(new).name}']
    assert Path(old).parent == Path(new).parent
    old_cfg = Config.fromfile(str(CONFIGS / old))
    new_cfg = Config.fromfile(str(CONFIGS / new))
    assert old_cfg.to_dict() == new_cfg.to_dict()
    assert old_cfg.pretty_text == new_cfg.pretty_text  # what a dump writes
    assert old_cfg.filename != new_cfg.filename


def test_new_configs_do_not_inherit_deprecated_paths():
    """Configs that inherit another config name its model-zoo name."""
    for path in CONFIGS.rglob('*.py'):
        rel = path.relative_to(CONFIGS).as_posix()
        if rel in DEPRECATED:
            continue
        text = path.read_text()
        for old in DEPRECATED:
            assert f'/{old}' not in text and \
                f"'./{Path(old).name}'" not in text, (rel, old)
