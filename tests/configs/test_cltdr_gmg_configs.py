"""The CLTDR-GMG configs build through the registry and run on random
features of their input shape (the real features cannot be downloaded
here). The large configs run at a reduced length T = 256 to keep the test
fast; the pyramid and the heads are the same at any T."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData

from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

CONFIGS = Path(__file__).resolve().parents[2] / 'configs' / 'cltdr_gmg'

# name, input dim, classes, levels, T used in the test
CASES = [
    ('cltdr-gmg_synthetic-feat_1xb2-30e_embedded.py', 256, 10, 6, 768),
    ('cltdr-gmg_i3d-feat_1xb2-40e_thumos14.py', 2048, 20, 6, 256),
    ('cltdr-gmg-official_i3d-feat_1xb2-40e_thumos14.py', 2048, 20, 6, 256),
    ('cltdr-gmg_i3d-feat_1xb2-60e_multithumos.py', 2048, 65, 6, 256),
    ('cltdr-gmg_slowfast-feat_1xb2-28e_epic-kitchens100-verb.py', 2304, 97, 6,
     256),
    ('cltdr-gmg_slowfast-feat_1xb2-25e_epic-kitchens100-noun.py', 2304, 300,
     6, 256),
    ('cltdr-gmg_tsp-feat_1xb16-15e_activitynet.py', 512, 200, 7, 256),
    ('cltdr-gmg_i3d-feat_1xb16-17e_hacs.py', 2048, 200, 7, 256),
]


def random_sample(t, num_classes):
    sample = ActionDataSample()
    sample.gt_instances = InstanceData(
        segments=torch.tensor([[10.0, 30.0], [50.0, 52.0], [5.0, 200.0]]),
        labels=torch.tensor([0, num_classes - 1, 1]))
    sample.set_metainfo(dict(video_name='r', duration=t * 4 / 30.0, fps=30.0,
                             feat_stride=4, num_frames=16, feat_len=t,
                             feat_offset=0))
    return sample


@pytest.mark.parametrize('name,in_channels,num_classes,num_levels,t', CASES)
def test_config_builds_and_runs(name, in_channels, num_classes, num_levels,
                                t):
    cfg = Config.fromfile(str(CONFIGS / name))
    assert cfg.custom_imports['imports'] == ['mmtal_zoom']
    assert cfg.model.neck.type == 'GMGNeck'
    assert cfg.model.head.type == 'CLTDRHead'
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    x = torch.randn(1, in_channels, t)
    model.eval()
    with torch.no_grad():
        outs = model(x, mode='tensor')
    cls_logits = outs[0]
    assert len(cls_logits) == num_levels
    assert cls_logits[0].shape == (1, num_classes, t)
    assert cls_logits[-1].shape[-1] == -(-t // 2**(num_levels - 1))
    if name in ('cltdr-gmg_synthetic-feat_1xb2-30e_embedded.py',
                'cltdr-gmg_i3d-feat_1xb2-40e_thumos14.py'):
        model.train()
        losses = model(x, [random_sample(t, num_classes)], mode='loss')
        assert all(torch.isfinite(v) for v in losses.values())


def test_thumos_config_is_the_papers_setting():
    cfg = Config.fromfile(
        str(CONFIGS / 'cltdr-gmg_i3d-feat_1xb2-40e_thumos14.py'))
    m = cfg.model
    assert (m.backbone.type, m.backbone.in_channels, m.backbone.num_convs,
            m.backbone.embed_dims) == ('ConvProjection', 2048, 2, 512)
    assert (m.neck.num_stem, m.neck.num_levels, m.neck.ffn_dims,
            m.neck.drop_path) == (2, 6, 768, 0.1)
    assert m.data_preprocessor.max_seq_len == 2304
    assert m.data_preprocessor.noise_std == 0.05
    assert m.head.prior_generator.regression_ranges == [
        (0, 4), (4, 8), (8, 16), (16, 32), (32, 64), (64, 10000)]
    assert m.head.num_bins == 16
    # Eq. 13: sigma_IoU (power 1) and the IoU (GIoU) loss, the head's
    # defaults; the authors' DIoU and sigma^0.2 only in the _official config
    assert m.head.iou_weight_power == 1.0
    assert m.head.loss_reg.mode == 'giou'
    official = Config.fromfile(str(
        CONFIGS / 'cltdr-gmg-official_i3d-feat_1xb2-40e_thumos14.py'))
    assert official.model.head.iou_weight_power == 0.2
    assert official.model.head.loss_reg.mode == 'diou'
    assert m.head.assigner.center_sample_radius == 1.5
    nms = m.head.test_cfg.nms
    assert (nms.method, nms.sigma, nms.max_num) == ('gaussian', 0.5, 2000)
    assert m.head.test_cfg.pre_nms_topk == 2000
    opt = cfg.optim_wrapper
    assert (opt.optimizer.type, opt.optimizer.lr,
            opt.optimizer.weight_decay) == ('AdamW', 1e-4, 0.035)
    assert opt.clip_grad.max_norm == 1.0
    assert cfg.train_cfg.max_epochs == 40
    assert cfg.param_scheduler[0].end == 20  # 20 warm-up epochs
    assert cfg.train_dataloader.batch_size == 2
    # paper defaults for the equations
    assert (m.neck.gate, m.neck.global_filter.filter_type,
            m.head.refine_score) == ('paper', 'conv', 'sqrt')
    # Eq. 13: sigma_IoU (power 1) * VFL (q^2 BCE on positives) + the GIoU
    # loss ("IOU loss (Rezatofighi et al. 2019)")
    assert m.head.iou_weight_power == 1.0
    assert (m.head.loss_reg.type, m.head.loss_reg.mode) == ('IoU1DLoss',
                                                            'giou')
    assert m.head.loss_cls.type == 'VarifocalLoss'
    assert m.head.loss_cls.iou_weighted is True
    assert (list(m.head.cls_layers), list(m.head.reg_layers)) == ([1, 0],
                                                                  [0, -1])
    assert m.head.refine_cls and m.head.refine_reg
    assert m.head.fusion == 'attention' and m.neck.global_mixer == 'fft'


def test_official_variant_config_switches_every_departure():
    cfg = Config.fromfile(
        str(CONFIGS / 'cltdr-gmg-official_i3d-feat_1xb2-40e_thumos14.py'))
    neck, head = cfg.model.neck, cfg.model.head
    assert neck.global_filter == dict(filter_type='mlp',
                                      sparsity_threshold=0.001)
    assert (neck.gate, neck.local_kernel_size) == ('official', 1)
    assert head.refine_score == 'logit_product'
    assert (head.refined_loss_weight, head.pre_refine_loss_weight) == (0.7,
                                                                       0.3)
    assert head.loss_pre_cls.type == 'SigmoidFocalLoss'


def test_paper_and_official_thumos_configs_differ_in_the_loss():
    """The authors' code weights the VFL by sigma_IoU^0.2 and regresses
    with DIoU; the paper (Eq. 13) by sigma_IoU and with GIoU."""
    paper = Config.fromfile(str(CONFIGS / 'cltdr_gmg_thumos14_i3d.py'))
    official = Config.fromfile(
        str(CONFIGS / 'cltdr_gmg_thumos14_i3d_official.py'))
    p, o = paper.model.head, official.model.head
    assert (p.iou_weight_power, p.loss_reg.mode) == (1.0, 'giou')
    assert (o.iou_weight_power, o.loss_reg.mode) == (0.2, 'diou')
    assert o.loss_reg.type == 'IoU1DLoss'  # merged into the base's loss
    # and the built losses read differently on the same boxes
    pred = torch.tensor([[2.0, 3.0], [1.0, 5.0]])
    target = torch.tensor([[3.0, 2.0], [2.0, 2.0]])
    lp, lo = MODELS.build(p.loss_reg), MODELS.build(o.loss_reg)
    assert not torch.allclose(lp(pred, target), lo(pred, target))


@pytest.mark.parametrize('name,tious', [
    ('cltdr-gmg_i3d-feat_1xb2-40e_thumos14.py', (0.3, 0.4, 0.5, 0.6, 0.7)),
    ('cltdr-gmg_i3d-feat_1xb2-60e_multithumos.py',
     tuple(round(0.1 * i, 1) for i in range(1, 10))),
    ('cltdr-gmg_slowfast-feat_1xb2-28e_epic-kitchens100-verb.py',
     (0.1, 0.2, 0.3, 0.4, 0.5)),
    ('cltdr-gmg_tsp-feat_1xb16-15e_activitynet.py',
     tuple(round(0.5 + 0.05 * i, 2) for i in range(10))),
    ('cltdr-gmg_i3d-feat_1xb16-17e_hacs.py',
     tuple(round(0.5 + 0.05 * i, 2) for i in range(10))),
])
def test_papers_tiou_thresholds(name, tious):
    cfg = Config.fromfile(str(CONFIGS / name))
    assert tuple(cfg.test_evaluator.tiou_thresholds) == pytest.approx(tious)
    # the pyramid and the point generator agree
    head = cfg.model.head
    assert len(head.prior_generator.strides) == cfg.model.neck.num_levels
    assert cfg.model.data_preprocessor.pad_size_divisor == \
        2**(cfg.model.neck.num_levels - 1)
