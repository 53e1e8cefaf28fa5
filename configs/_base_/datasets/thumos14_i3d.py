# THUMOS14 with two-stream I3D features (the field's standard setting, as
# ActionFormer): 2048-d, 30 fps, stride 4, 16-frame snippets; train on the
# 'Validation' subset, evaluate on 'Test'. Features are not downloadable
# here: put one <video>.npy (T, 2048) per video under
# data/thumos14/i3d_features.
dataset_type = 'TALFeatureDataset'
data_root = 'data/thumos14'
# the field's standard file
ann_file = data_root + '/annotations/thumos14.json'
feat_prefix = dict(feature=data_root + '/i3d_features')
feat_stride, num_frames, fps = 4, 16, 30.0
max_seq_len = 2304

train_pipeline = [
    dict(type='LoadTALFeatures'),
    dict(type='RandomTruncateTAL', max_seq_len=max_seq_len, trunc_thresh=0.5,
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
    dataset=dict(**dataset_common, subset='Validation', filter_empty_gt=True,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**dataset_common, subset='Test', filter_empty_gt=False,
                 test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='TALDetectionMetric',
                     tiou_thresholds=(0.3, 0.4, 0.5, 0.6, 0.7))
test_evaluator = val_evaluator
auto_scale_lr = dict(enable=False, base_batch_size=2)  # 1 GPU x batch 2
