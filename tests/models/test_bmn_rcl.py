"""BMNRCL: RCL plugged into MMAction2's BMN, trained and evaluated through
MMAction2's own ActivityNetDataset, localization pipeline and ANetMetric."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from mmaction.registry import DATASETS, METRICS, MODELS
from mmtal_zoom.datasets.generators.anet_format import (planted_anet_database,
                                                        rescale_features,
                                                        write_anet_dataset)

REPO = Path(__file__).resolve().parents[2]
CFG_DIR = REPO / 'configs' / 'rcl'
CPU_CONFIG = 'bmn-rcl_synthetic-feat_1xb2-8e_embedded-anet.py'
TSN_CONFIG = 'bmn-rcl_tsn-feat_2xb8-10e_activitynet.py'


@pytest.fixture(autouse=True)
def mmaction_scope():
    """Build transforms and metrics in MMAction2's scope, as the Runner of a
    config with ``default_scope = 'mmaction'`` does."""
    with DefaultScope.overwrite_default_scope('mmaction'):
        yield


@pytest.fixture(scope='module')
def anet_data(tmp_path_factory):
    out = tmp_path_factory.mktemp('anet_tiny')
    database, features = planted_anet_database(num_videos=6, feat_dim=400)
    return write_anet_dataset(str(out), database, features)


def load_cfg(name, data, out_dir):
    cfg = Config.fromfile(str(CFG_DIR / name))
    for split, key in (('train_dataloader', 'train'),
                       ('val_dataloader', 'val'), ('test_dataloader',
                                                   'test')):
        cfg[split].dataset.ann_file = data[key]
        cfg[split].dataset.data_prefix = dict(video=data['feature_dir'])
    cfg.val_evaluator.dump_config.out = str(out_dir / 'results.json')
    return cfg


def bmn_gt_samples(num_videos):
    """``num_videos`` samples, each with one ground-truth segment
    ``[0.2, 0.5]`` in BMN's normalised ``gt_bbox`` layout."""
    from mmengine.structures import InstanceData

    from mmaction.structures import ActionDataSample
    samples = []
    for _ in range(num_videos):
        s = ActionDataSample()
        s.gt_instances = InstanceData(gt_bbox=torch.tensor([[0.2, 0.5]]))
        samples.append(s)
    return samples


def test_anet_layout_is_what_mmaction_reads(anet_data):
    ann = json.load(open(anet_data['train']))
    name, info = next(iter(ann.items()))
    assert name.startswith('v_')  # ANetMetric strips two characters
    assert {'duration_second', 'duration_frame', 'feature_frame',
            'annotations'} <= set(info)
    assert info['feature_frame'] % 16 == 0
    csv = Path(anet_data['feature_dir']) / f'{name}.csv'
    lines = csv.read_text().strip().split('\n')
    assert lines[0].startswith('f0,f1,') and len(lines) == 101
    assert len(lines[1].split(',')) == 400
    full = json.load(open(anet_data['full']))
    assert len(full) == 6 and set(ann) < set(full)


def test_rescale_matches_mmaction_feature_postprocessing():
    import importlib.util

    import mmaction
    path = (Path(mmaction.__file__).parent / '.mim' / 'tools' / 'data' /
            'activitynet' / 'activitynet_feature_postprocessing.py')
    if not path.exists():
        pytest.skip('mmaction2 wheel without its activitynet tools')
    spec = importlib.util.spec_from_file_location('anet_post', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(0)
    for t in (2, 37, 250):
        feats = rng.random((t, 7))
        for pool in ('mean', 'max'):
            np.testing.assert_allclose(
                rescale_features(feats, pool_type=pool),
                module.pool_feature(feats, pool_type=pool), atol=1e-6)


def test_bad_database_errors_name_the_video(tmp_path):
    database, features = planted_anet_database(num_videos=2, feat_dim=8)
    database['database']['planted000']['subset'] = 'holdout'
    with pytest.raises(ValueError, match='planted000.*holdout'):
        write_anet_dataset(str(tmp_path), database, features)
    database, features = planted_anet_database(num_videos=2, feat_dim=8)
    del features['planted001']
    with pytest.raises(KeyError, match='planted001'):
        write_anet_dataset(str(tmp_path), database, features)


@pytest.mark.parametrize('cfg_name', [
    'bmn_synthetic-feat_1xb2-8e_embedded-anet.py',
    'bmn-rcl_synthetic-feat_1xb2-8e_embedded-anet.py'])
def test_config_train_step_predict_and_anet_metric(cfg_name, anet_data,
                                                   tmp_path):
    torch.manual_seed(0)
    cfg = load_cfg(cfg_name, anet_data, tmp_path)
    model = MODELS.build(cfg.model)
    train_set = DATASETS.build(cfg.train_dataloader.dataset)
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    batch = pseudo_collate([train_set[0], train_set[1]])
    losses = model.train_step(batch, optim)
    assert 'loss' in losses and torch.isfinite(losses['loss'])
    if model.__class__.__name__ == 'BMNRCL':
        assert {'loss_tem', 'loss_rcl_cls', 'loss_rcl_reg',
                'loss_rcl_offset', 'loss_l2'} <= set(losses)

    model.eval()
    val_set = DATASETS.build(cfg.val_dataloader.dataset)
    metric = METRICS.build(cfg.val_evaluator)
    for i in range(len(val_set)):
        data = pseudo_collate([val_set[i]])
        with torch.no_grad():  # as mmengine's ValLoop
            outputs = model.val_step(data)
        assert len(outputs) == 1
        info = data['data_samples'][0].metainfo
        out = outputs[0]
        assert out['video_name'] == info['video_name']
        props = out['proposal_list']
        assert 0 < len(props) <= cfg.model.post_process_top_k
        segs = np.array([p['segment'] for p in props])
        assert (segs >= 0).all()
        assert (segs <= info['duration_second'] + 1e-6).all()
        metric.process(data, outputs)
    results = metric.evaluate(len(val_set))
    assert {'auc', 'AR@1', 'AR@5', 'AR@10', 'AR@100'} <= set(results)
    assert 0 <= results['AR@100'] <= 1 and 0 <= results['auc'] <= 100
    dumped = json.load(open(tmp_path / 'results.json'))
    assert len(dumped['results']) == len(val_set)


def test_bmn_rcl_keeps_bmn_boundary_modules_and_drops_the_bm_map():
    # temporal_dim 32 instead of 100: BMN builds its sampling mask in Python
    stock_cfg = Config.fromfile(
        str(REPO / 'configs/_base_/models/bmn_400x100.py')).model
    stock = MODELS.build(dict(stock_cfg, temporal_dim=32))
    rcl_cfg = Config.fromfile(
        str(REPO / 'configs/_base_/models/bmn_rcl_400x100.py')).model
    rcl = MODELS.build(dict(rcl_cfg, temporal_dim=32))
    for name in ('x_1d_p', 'x_3d_p', 'x_2d_p', 'bm_mask', 'sample_mask'):
        assert getattr(rcl, name, None) is None
    kept = {k: v for k, v in stock.state_dict().items()
            if k.split('.')[0] in ('x_1d_b', 'x_1d_s', 'x_1d_e')}
    missing, unexpected = rcl.load_state_dict(kept, strict=False)
    assert not unexpected
    assert not [k for k in missing if not k.startswith('rcl_head.')]
    x = torch.randn(2, 400, 32)
    with torch.no_grad():
        _, s_ref, e_ref = stock._forward(x)
        segs, scores, s, e = rcl([x[0], x[1]], None, mode='tensor')
    assert torch.allclose(s, s_ref) and torch.allclose(e, e_ref)
    assert segs.shape[:2] == scores.shape and segs.shape[-1] == 2


def test_tsn_config_builds_and_runs_forward_and_predict():
    """The real ActivityNet-1.3 TSN setting (stock BMN widths, M = 10)."""
    cfg = Config.fromfile(str(CFG_DIR / TSN_CONFIG))
    assert cfg.train_dataloader.dataset.type == 'ActivityNetDataset'
    assert cfg.val_evaluator.type == 'ANetMetric'
    model = MODELS.build(cfg.model).eval()
    assert model.rcl_head.refine.num_iters == 10
    assert model.rcl_head.sampler.num_grid == 100
    from mmaction.structures import ActionDataSample
    sample = ActionDataSample()
    sample.set_metainfo(dict(video_name='v_x', duration_second=120.0,
                             duration_frame=3600, feature_frame=3584))
    x = torch.rand(400, 100)
    with torch.no_grad():
        segs, scores, start, end = model([x], None, mode='tensor')
        assert segs.shape == (1, 5050, 2) and scores.shape == (1, 5050)
        out = model([x], [sample], mode='predict')
    assert len(out[0]['proposal_list']) == 100


def test_predict_handles_batches_of_several_videos():
    cfg = Config.fromfile(str(CFG_DIR / CPU_CONFIG))
    model = MODELS.build(cfg.model).eval()
    from mmaction.structures import ActionDataSample
    samples = []
    for i, dur in enumerate((50.0, 200.0)):
        s = ActionDataSample()
        s.set_metainfo(dict(video_name=f'v_{i}', duration_second=dur,
                            duration_frame=int(dur * 30),
                            feature_frame=int(dur * 30) // 16 * 16))
        samples.append(s)
    with torch.no_grad():
        out = model([torch.rand(400, 100), torch.rand(400, 100)], samples,
                    mode='predict')
    assert [o['video_name'] for o in out] == ['v_0', 'v_1']
    for o, dur in zip(out, (50.0, 200.0)):
        segs = np.array([p['segment'] for p in o['proposal_list']])
        assert segs.max() <= dur and segs.min() >= 0
        # SPF floor: no proposal shorter than one frame
        assert (segs[:, 1] - segs[:, 0]).min() >= 1 / 30 - 1e-3


def test_hybrid_keeps_the_bm_map_trains_it_and_blends_its_scores():
    """``keep_bm_map`` (own design): BMN's map and loss kept beside RCL; its
    confidence of every grid query is read at ``[duration - 1, start]`` and
    blended with RCL's."""
    torch.manual_seed(0)
    rcl_cfg = Config.fromfile(
        str(REPO / 'configs/_base_/models/bmn_rcl_400x100.py')).model
    t = 16
    model = MODELS.build(dict(
        rcl_cfg, temporal_dim=t, keep_bm_map=True, bm_score_weight=0.5,
        rcl_head=dict(rcl_cfg.rcl_head, refine=None,
                      test_cfg=dict(stage='car'))))
    assert model.sample_mask is not None and model.x_2d_p is not None
    x = torch.randn(2, 400, t)
    base, _, _ = model._boundary(x)
    bm = model._bm_map(base)
    prior = model._grid_prior(base)
    grid = model.rcl_head.sampler.grid_queries()
    # a grid query (s, e) is BMN's map cell [e - s - 1, s]
    k = 37
    s_idx, e_idx = (grid[k] * t).round().long().tolist()
    assert torch.allclose(prior[:, k],
                          bm[:, 0, e_idx - s_idx - 1, s_idx] *
                          bm[:, 1, e_idx - s_idx - 1, s_idx])
    with torch.no_grad():
        _, blended, _, _ = model(list(x), None, mode='tensor')
        model.bm_score_weight = 0.0
        _, rcl_only, _, _ = model(list(x), None, mode='tensor')
    assert not torch.allclose(blended, rcl_only)
    # the map is trained: BMN's proposal evaluation loss reaches x_2d_p
    losses = model(list(x), bmn_gt_samples(2), mode='loss')
    assert 'loss_pem' in losses and torch.isfinite(losses['loss_pem'])
    losses['loss_pem'].backward()
    assert model.x_2d_p[-2].weight.grad.abs().sum() > 0


def test_paper_config_reads_the_paper_and_cpu_config_says_where_not():
    """The TSN config is the paper's reading (RAFT stage weights, p^1 p^2,
    Adam 1e-3 for 5 + 5 epochs); the CPU config departs where measured."""
    paper = Config.fromfile(str(CFG_DIR / TSN_CONFIG))
    head = MODELS.build(dict(paper.model, temporal_dim=32)).rcl_head
    assert head.stage_weighting == 'raft'
    assert head.train_refine == 'as_test'
    assert head.stage_loss_cfg['offset_iou_thr'] is None
    assert head.stage_loss_cfg['offset_target'] == 'absolute'
    assert head.test_cfg['use_boundary_probs'] is False
    assert head.test_cfg['stage'] == 'refined'
    assert head.test_cfg['candidates'] == 'all'
    assert paper.train_cfg.max_epochs == 10
    assert paper.param_scheduler[0].milestones == [5]
    assert paper.optim_wrapper.optimizer.lr == 1e-3
    assert (paper.train_dataloader.batch_size *
            2 == 16)  # 2 GPUs x 8 = the paper's batch 16
    cpu = Config.fromfile(str(CFG_DIR / CPU_CONFIG))
    test_cfg = cpu.model.rcl_head.test_cfg
    # the CPU config reads the CAR (stage='car') and does not train the RRM
    assert cpu.model.rcl_head.refine is None
    assert (cpu.model.rcl_head.offset_iou_thr,
            cpu.model.rcl_head.offset_target) == (0.5, 'relative')
    assert cpu.model.keep_bm_map is True
    assert (test_cfg.stage, test_cfg.candidates, test_cfg.nms.method,
            test_cfg.use_boundary_probs) == ('car', 'boundary_peaks', 'bmn',
                                             True)


@pytest.mark.parametrize('detach', [False, True])
def test_detached_rcl_features_leave_the_base_module_to_bmn(detach):
    """``detach_rcl_features`` (own design): RCL's losses reach BMN's base
    module only when it is off; RCL's own layers learn either way."""
    torch.manual_seed(0)
    rcl_cfg = Config.fromfile(
        str(REPO / 'configs/_base_/models/bmn_rcl_400x100.py')).model
    model = MODELS.build(dict(
        rcl_cfg, temporal_dim=16, detach_rcl_features=detach,
        rcl_head=dict(rcl_cfg.rcl_head, refine=None)))
    losses = model(list(torch.randn(2, 400, 16)), bmn_gt_samples(2),
                   mode='loss')
    rcl_loss = sum(v for k, v in losses.items()
                   if k not in ('loss_tem', 'loss_l2'))
    rcl_loss.backward()
    base_grad = sum(p.grad.abs().sum() for p in model.x_1d_b.parameters()
                    if p.grad is not None)
    head_grad = sum(p.grad.abs().sum() for p in model.rcl_head.parameters()
                    if p.grad is not None)
    assert head_grad > 0
    assert (base_grad == 0) == detach


def test_rcl_ablation_row_trains_the_rrm_the_cpu_config_leaves_out():
    """``rcl_experiments.py``'s ``rcl`` row is the CPU config with the RRM
    trained (as the config was until it stopped training it); its
    ``car_offset`` row is the CPU config itself."""
    import copy

    from cli_helpers import load_tool
    rcl_experiments = load_tool('analysis/rcl_experiments')
    rrm = rcl_experiments.VARIANTS['rcl']
    cfg = Config.fromfile(rrm['config'])
    cfg.merge_from_dict(copy.deepcopy(rrm['overrides']))
    head = MODELS.build(dict(cfg.model, temporal_dim=16)).rcl_head
    assert head.refine is not None and head.refine.num_iters == 10
    assert (head.stage_weighting, head.train_refine) == ('paper', 'mixed')
    assert head.num_stages == 11
    car = rcl_experiments.VARIANTS['car_offset']
    plain = Config.fromfile(car['config'])
    ablated = Config.fromfile(car['config'])
    ablated.merge_from_dict(copy.deepcopy(car['overrides']))
    assert plain.model.to_dict() == ablated.model.to_dict()
    assert MODELS.build(dict(plain.model,
                             temporal_dim=16)).rcl_head.num_stages == 1
