"""tools/analysis/cltdr_gmg_experiments.py: its variant configs are the
paper's model with one switch, whatever the CPU config's own defaults."""
import sys
from pathlib import Path

from mmengine.config import Config

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'tools' / 'analysis'))
import cltdr_gmg_experiments as exp  # noqa: E402


def test_variant_config_is_the_papers_model_with_one_switch(tmp_path):
    base = Config.fromfile(exp.CLTDR)
    full = Config.fromfile(exp.variant_config(str(tmp_path), 'gmg_full',
                                              exp.CLTDR, {}))
    no_local = Config.fromfile(exp.variant_config(
        str(tmp_path), 'no_local', exp.CLTDR, dict(use_local=False)))
    for cfg in (full, no_local):
        assert list(cfg.model.head.reg_layers) == [0, -1]
        assert list(cfg.model.head.cls_layers) == [1, 0]
        assert cfg.model.neck.use_instant and cfg.model.neck.use_global
        # everything else is the CPU config's
        assert cfg.model.neck.ffn_dims == base.model.neck.ffn_dims
        assert cfg.train_cfg == base.train_cfg
    assert full.model.neck.use_local and not no_local.model.neck.use_local
