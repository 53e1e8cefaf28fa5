"""ATRBudgetAnnealHook changes the routers' budget / temperature on schedule
and logs ATR's statistics; DistillationHook loads a uniform-depth teacher
safely, runs it on the batch and makes the student's head add KD terms."""
import math
import os.path as osp
import pickle
import sys
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.structures import InstanceData

from mmaction.registry import HOOKS, MODELS
from mmaction.structures import ActionDataSample

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                            'models'))
from tal_batches import actionformer_head, atr_detector  # noqa: E402


def model_cfg(router=True, head='DistillationHead'):
    base = actionformer_head()
    return atr_detector(
        dict(type=head, student=base, reg_index=1) if head else base,
        router=dict(type='ATRDepthRouter') if router else None)


def runner(model, epoch=0, max_epochs=10, it=0, max_iters=100, n_batches=4):
    return SimpleNamespace(
        model=model, epoch=epoch, max_epochs=max_epochs, iter=it,
        max_iters=max_iters, train_dataloader=list(range(n_batches)),
        message_hub=MessageHub.get_instance('mmtal_zoom_hook_test'))


def raw_batch():
    g = torch.Generator().manual_seed(0)
    samples = []
    for name, length, seg in (('a', 64, [[10., 20.]]), ('b', 40, [[5., 25.]])):
        s = ActionDataSample()
        s.gt_instances = InstanceData(segments=torch.tensor(seg),
                                      labels=torch.tensor([1]))
        s.set_metainfo(dict(video_name=name, duration=length * 4 / 30,
                            fps=30.0, feat_stride=4, num_frames=16,
                            feat_len=length, feat_offset=0))
        samples.append(s)
    return dict(inputs=[torch.randn(8, 64, generator=g),
                        torch.randn(8, 40, generator=g)],
                data_samples=samples)


def test_budget_hook_anneals_by_epoch_and_logs():
    model = MODELS.build(model_cfg(head=None))
    router = model.backbone.router
    hook = HOOKS.build(dict(type='ATRBudgetAnnealHook', budget=(0.8, 0.2),
                            temperature=(2.0, 0.5), begin=1, end=5))
    seen = []
    for epoch, batch_idx in ((0, 0), (1, 0), (3, 0), (3, 2), (6, 1)):
        hook.before_train_iter(runner(model, epoch=epoch), batch_idx)
        seen.append((router.budget_target, router.temperature))
    assert seen[0] == pytest.approx((0.8, 2.0))  # before begin
    assert seen[1] == pytest.approx((0.8, 2.0))  # at begin
    assert seen[2] == pytest.approx((0.5, 1.25))  # half-way
    assert seen[3] == pytest.approx((0.5 - 0.6 * 0.5 / 4, 1.25 - 1.5 * .125))
    assert seen[4] == pytest.approx((0.2, 0.5))  # after end
    # the router's output follows the temperature
    x = torch.randn(1, 8, 32)
    mask = torch.ones(1, 32, dtype=torch.bool)
    model.train()
    model.backbone(x, mask)
    r = runner(model, epoch=6)
    hook.after_train_iter(r, 1)
    scalars = r.message_hub.log_scalars
    for key in ('train/loss_budget', 'train/mean_tau',
                'train/active_fraction', 'train/atr_budget_target',
                'train/atr_temperature'):
        assert key in scalars, key
    assert scalars['train/atr_budget_target'].current() == pytest.approx(0.2)


def test_budget_hook_by_iteration_cosine_and_none_keeps_values():
    model = MODELS.build(model_cfg(head=None))
    router = model.backbone.router
    router.budget_target = 0.33
    hook = HOOKS.build(dict(type='ATRBudgetAnnealHook', budget=None,
                            temperature=(1.0, 0.2), by_epoch=False,
                            schedule='cosine'))
    hook.before_train_iter(runner(model, it=50, max_iters=100), 0)
    assert router.budget_target == pytest.approx(0.33)
    assert router.temperature == pytest.approx(0.6)  # cosine mid-point
    hook.before_train_iter(runner(model, it=25, max_iters=100), 0)
    # cosine: slower than linear at the start
    assert router.temperature == pytest.approx(
        1.0 - 0.8 * 0.5 * (1 - math.cos(math.pi / 4)))
    assert router.temperature > 1.0 - 0.8 * 0.25
    with pytest.raises(ValueError):
        HOOKS.build(dict(type='ATRBudgetAnnealHook', budget=(1.5, 0.2)))


def save_teacher(tmp_path, teacher, extra=None):
    path = tmp_path / 'teacher.pth'
    state = {'module.' + k: v for k, v in teacher.state_dict().items()}
    ckpt = dict(state_dict=state, meta=dict(epoch=3))
    if extra:
        ckpt.update(extra)
    torch.save(ckpt, path)
    return str(path)


def test_distillation_hook_installs_teacher_and_adds_kd(tmp_path):
    torch.manual_seed(0)
    teacher_cfg = model_cfg(router=False, head=None)
    teacher = MODELS.build(teacher_cfg)
    ckpt = save_teacher(tmp_path, teacher)
    student = MODELS.build(model_cfg(router=True))
    hook = HOOKS.build(dict(type='DistillationHook',
                            teacher_config=teacher_cfg,
                            teacher_checkpoint=ckpt))
    r = runner(student)
    hook.before_run(r)
    assert not hook.teacher.training
    assert not any(p.requires_grad for p in hook.teacher.parameters())
    for k, v in teacher.state_dict().items():
        assert torch.equal(hook.teacher.state_dict()[k], v), k
    # not a sub-module of the student
    assert not any(m is hook.teacher for m in student.modules())

    data = raw_batch()
    hook.before_train_iter(r, 0, data)
    outs = data['data_samples'][0].kd_teacher_outs
    with torch.no_grad():
        d = student.data_preprocessor(raw_batch(), training=True)
        ref = teacher(d['inputs'], mode='tensor', masks=d['masks'])
    assert torch.allclose(outs[0][0], ref[0][0][0])
    assert outs[1][2].shape == ref[1][2][0].shape

    d = student.data_preprocessor(data, training=True)
    losses = student(**d, mode='loss')
    assert {'loss_kd_cls', 'loss_kd_reg'} <= set(losses)
    d2 = student.data_preprocessor(raw_batch(), training=True)
    assert 'loss_kd_cls' not in student(**d2, mode='loss')


class NotAllowed:  # a global torch's weights_only unpickler refuses
    pass


def test_distillation_hook_refuses_unsafe_and_mismatched(tmp_path):
    teacher_cfg = model_cfg(router=False, head=None)
    teacher = MODELS.build(teacher_cfg)
    evil = save_teacher(tmp_path, teacher, extra=dict(x=NotAllowed()))
    hook = HOOKS.build(dict(type='DistillationHook',
                            teacher_config=teacher_cfg,
                            teacher_checkpoint=evil))
    with pytest.raises(pickle.UnpicklingError):
        hook.build_teacher()
    good = save_teacher(tmp_path, teacher)
    other = model_cfg(router=True, head=None)  # has a router: keys missing
    with pytest.raises(ValueError, match='does not match'):
        HOOKS.build(dict(type='DistillationHook', teacher_config=other,
                         teacher_checkpoint=good)).build_teacher()
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        HOOKS.build(dict(type='DistillationHook', teacher_config=teacher_cfg,
                         teacher_checkpoint=str(tmp_path / 'missing.pth'))
                    ).build_teacher()


def test_distillation_hook_names_a_file_without_weights(tmp_path):
    """A file that holds no state dict is reported as such, not as a
    teacher whose keys do not match."""
    path = tmp_path / 'not_weights.pth'
    torch.save([1, 2, 3], path)
    hook = HOOKS.build(dict(type='DistillationHook',
                            teacher_config=model_cfg(router=False, head=None),
                            teacher_checkpoint=str(path)))
    with pytest.raises(RuntimeError, match='No state_dict') as info:
        hook.build_teacher()
    assert str(path) in str(info.value)
    assert 'does not match' not in str(info.value)


def tiny_zoom_model(router: bool, bdr: bool, num_classes: int = 4):
    cfg = model_cfg(router=router, head=None)
    cfg['data_preprocessor']['max_seq_len'] = 192
    cfg['backbone']['in_channels'] = 32
    cfg['head']['num_classes'] = num_classes
    if bdr:
        cfg['head'] = dict(type='BDRRefinedHead', base_head=cfg['head'],
                           bdr=dict(type='BDRHead', in_channels=16,
                                    feat_channels=16, num_convs=1))
    return cfg


def test_hooks_in_a_real_runner(tiny_tal_dataset, tmp_path):
    """One epoch of ATR + BDR distilled from a uniform-depth teacher under
    mmengine's Runner: both hooks act, the KD and budget terms are logged."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    torch.manual_seed(0)
    teacher_cfg = tiny_zoom_model(router=False, bdr=False)
    ckpt = save_teacher(tmp_path, MODELS.build(teacher_cfg))
    root = str(tiny_tal_dataset)
    data = dict(type='TALFeatureDataset', ann_file=root + '/annotations.json',
                data_prefix=dict(feature=root + '/features'), feat_stride=4,
                num_frames=16, default_fps=30.0)
    student = dict(type='DistillationHead', reg_index=1,
                   student=tiny_zoom_model(True, True)['head'])
    model = tiny_zoom_model(router=True, bdr=True)
    model['head'] = student
    cfg = Config(dict(
        default_scope='mmaction',
        work_dir=str(tmp_path / 'run'),
        model=model,
        train_dataloader=dict(
            batch_size=4, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True),
            dataset=dict(**data, subset='train', filter_empty_gt=True,
                         pipeline=[dict(type='LoadTALFeatures'),
                                   dict(type='RandomTruncateTAL',
                                        max_seq_len=192),
                                   dict(type='PackTALInputs')])),
        train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3)),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1),
                           checkpoint=dict(type='CheckpointHook',
                                           interval=1)),
        custom_hooks=[
            dict(type='ATRBudgetAnnealHook', budget=(0.6, 0.2),
                 temperature=(1.0, 0.5)),
            dict(type='DistillationHook', teacher_config=teacher_cfg,
                 teacher_checkpoint=ckpt)],
        log_level='WARNING'))
    runner = Runner.from_cfg(cfg)
    runner.train()
    scalars = runner.message_hub.log_scalars
    for key in ('train/loss_kd_cls', 'train/loss_kd_reg', 'train/loss_bdr',
                'train/loss_budget', 'train/mean_tau'):
        assert key in scalars, key
    router = runner.model.backbone.router
    n = len(runner.train_dataloader)
    # annealed: the last iteration ran at progress (n - 1) / n of the epoch
    assert router.budget_target == pytest.approx(0.6 - 0.4 * (n - 1) / n)
    assert router.temperature == pytest.approx(1.0 - 0.5 * (n - 1) / n)
    # the teacher stayed outside the student's checkpoint
    saved = torch.load(str(tmp_path / 'run' / 'epoch_1.pth'),
                       map_location='cpu', weights_only=True)['state_dict']
    assert not any('teacher' in k for k in saved)
    assert set(saved) == set(runner.model.state_dict())
