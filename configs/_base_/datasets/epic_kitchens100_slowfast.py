# EPIC-KITCHENS-100 action localization with SlowFast features (as
# ActionFormer / TriDet / CLTDR-GMG): 2304-d, 30 fps, stride 16, 32-frame
# snippets, max_seq_len 2304; train on 'training', evaluate on 'validation'
# at tIoU 0.1:0.5. Verb and noun annotation files are separate; the method
# configs choose one. Put one <video>.npy (T, 2304) per video under
# data/epic_kitchens/features.
dataset_type = 'TALFeatureDataset'
data_root = 'data/epic_kitchens'
ann_file = data_root + '/annotations/epic_kitchens_100_verb.json'
feat_prefix = dict(feature=data_root + '/features')
feat_stride, num_frames, fps = 16, 32, 30.0
max_seq_len = 2304

train_pipeline = [
    dict(type='LoadTALFeatures'),
    dict(type='RandomTruncateTAL', max_seq_len=max_seq_len, trunc_thresh=0.3,
         crop_ratio=(0.9, 1.0)),
    dict(type='PackTALInputs'),
]
test_pipeline = [dict(type='LoadTALFeatures'), dict(type='PackTALInputs')]
dataset_common = dict(type=dataset_type, ann_file=ann_file,
                      data_prefix=feat_prefix, feat_stride=feat_stride,
                      num_frames=num_frames, default_fps=fps)
train_dataloader = dict(
    batch_size=2, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**dataset_common, subset='training', filter_empty_gt=True,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**dataset_common, subset='validation', filter_empty_gt=False,
                 test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='TALDetectionMetric',
                     tiou_thresholds=(0.1, 0.2, 0.3, 0.4, 0.5))
test_evaluator = val_evaluator
auto_scale_lr = dict(enable=False, base_batch_size=2)  # 1 GPU x batch 2
