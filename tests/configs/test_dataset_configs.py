"""The configs of the datasets added to the first five (Ego4D-MQ,
FineAction, Charades, EPIC-SOUNDS) and the ActivityNet configs with video
classifier fusion build and run a forward pass on random features of their
input shape; the fusion configs label detections with the ids of the
annotation file they evaluate on."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from mmaction.registry import MODELS

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'

# config, input channels, classes, evaluated subset, tIoU thresholds
CASES = [
    ('{}_egovlp-feat_1xb2-20e_ego4d-mq', 256, 110, 'val', 5),
    ('{}_videomaev2-g-feat_1xb16-15e_fineaction', 1408, 106, 'validation',
     10),
    ('{}_i3d-rgb-feat_1xb16-15e_charades', 1024, 157, 'testing', 9),
    ('{}_auditory-slowfast-feat_1xb2-25e_epic-sounds', 2304, 44,
     'validation', 5),
]
METHODS = [('baseline', 'actionformer'), ('cltdr_gmg', 'cltdr-gmg')]


@pytest.mark.parametrize('folder,algo', METHODS)
@pytest.mark.parametrize('name,in_channels,num_classes,subset,num_tiou',
                         CASES)
def test_new_dataset_configs_build_and_run(folder, algo, name, in_channels,
                                           num_classes, subset, num_tiou):
    cfg = Config.fromfile(str(CONFIGS / folder / (name.format(algo) +
                                                  '.py')))
    val = cfg.val_dataloader.dataset
    assert val.subset == subset and val.test_mode
    assert cfg.train_dataloader.dataset.subset != subset
    assert val.ann_file == cfg.train_dataloader.dataset.ann_file
    assert len(cfg.val_evaluator.tiou_thresholds) == num_tiou
    # the input length a batch is padded to is a multiple of the pyramid's
    # coarsest stride
    pre = cfg.model.data_preprocessor
    assert pre.max_seq_len % pre.pad_size_divisor == 0
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, in_channels, 128), mode='tensor')
    assert outs[0][0].shape == (1, num_classes, 128)


@pytest.mark.parametrize('name,in_channels,num_classes', [
    ('actionformer_slowfast-feat_1xb2-20e_epic-kitchens100-verb', 2304, 97),
    ('actionformer_slowfast-feat_1xb2-20e_epic-kitchens100-noun', 2304, 300),
    ('actionformer_i3d-feat_1xb2-45e_multithumos', 2048, 65),
    ('actionformer_i3d-feat_1xb16-17e_hacs', 2048, 200),
])
def test_baseline_configs_of_the_first_five(name, in_channels, num_classes):
    """The baseline next to CLTDR-GMG on the datasets it lacked: same data
    (annotation file and evaluation) as the CLTDR-GMG config."""
    cfg = Config.fromfile(str(CONFIGS / 'baseline' / (name + '.py')))
    twin = {'epic-kitchens100-verb': 'slowfast-feat_1xb2-28e',
            'epic-kitchens100-noun': 'slowfast-feat_1xb2-25e',
            'multithumos': 'i3d-feat_1xb2-60e', 'hacs': 'i3d-feat_1xb16-17e'}
    dataset = name.rsplit('_', 1)[1]
    other = Config.fromfile(str(
        CONFIGS / 'cltdr_gmg' / f'cltdr-gmg_{twin[dataset]}_{dataset}.py'))
    for loader in ('train_dataloader', 'val_dataloader'):
        assert cfg[loader].dataset.ann_file == other[loader].dataset.ann_file
        assert cfg[loader].dataset.subset == other[loader].dataset.subset
    assert cfg.val_evaluator.tiou_thresholds == \
        other.val_evaluator.tiou_thresholds
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, in_channels, 128), mode='tensor')
    assert outs[0][0].shape == (1, num_classes, 128)


@pytest.mark.parametrize('path,localizer', [
    ('baseline/actionformer-fusion_tsp-feat_1xb16-15e_activitynet.py',
     'TALDetector'),
    ('cltdr_gmg/cltdr-gmg-fusion_tsp-feat_1xb16-15e_activitynet.py',
     'TALDetector'),
])
def test_class_agnostic_fusion_configs(path, localizer):
    cfg = Config.fromfile(str(CONFIGS / path))
    assert cfg.model.type == 'ProposalDetector'
    fusion = cfg.model.fusion
    # labels of the detections = label ids of the evaluated annotation file
    assert fusion.classes == cfg.val_dataloader.dataset.ann_file
    assert cfg.val_evaluator.type == 'TALDetectionMetric'
    model = MODELS.build(cfg.model).eval()
    assert type(model.localizer).__name__ == localizer
    assert model.localizer.head.num_classes == 1  # made class-agnostic
    # the data preprocessor is the outer model's (the runner calls it)
    assert type(model.data_preprocessor).__name__ == 'TALDataPreprocessor'
    with torch.no_grad():
        outs = model(torch.randn(1, 512, 128), mode='tensor')
    assert outs[0][0].shape == (1, 1, 128)


def test_bmn_fusion_configs_score_detections():
    for path in ('rcl/bmn-fusion_tsn-feat_2xb8-9e_activitynet.py',
                 'rcl/bmn-rcl-fusion_tsn-feat_2xb8-10e_activitynet.py'):
        cfg = Config.fromfile(str(CONFIGS / path))
        assert cfg.model.type == 'ProposalDetector'
        assert cfg.model.localizer.type in ('BMN', 'BMNRCL')
        assert cfg.val_evaluator.type == 'TALDetectionMetric'
        assert cfg.test_evaluator.type == 'TALDetectionMetric'
        # the ground truth ProposalDetector reads travels in the metainfo
        meta_keys = cfg.val_dataloader.dataset.pipeline[-1].meta_keys
        assert 'annotations' in meta_keys and 'duration_second' in meta_keys
