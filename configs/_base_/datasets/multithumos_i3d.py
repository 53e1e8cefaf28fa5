# MultiTHUMOS (65 dense, multi-label classes on the THUMOS14 videos) with
# the two-stream I3D features of THUMOS14: 2048-d, 30 fps, stride 4, 16-frame
# snippets; train on 'Validation', evaluate on 'Test' at tIoU 0.1:0.9 (the
# field's protocol, as PointTAD / TriDet / CLTDR-GMG). Put the annotation
# JSON under data/multithumos/annotations and one <video>.npy (T, 2048) per
# video under data/thumos14/i3d_features.
dataset_type = 'TALFeatureDataset'
data_root = 'data/multithumos'
ann_file = data_root + '/annotations/multithumos.json'
feat_prefix = dict(feature=data_root + '/../thumos14/i3d_features')
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
                     tiou_thresholds=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8,
                                      0.9))
test_evaluator = val_evaluator
auto_scale_lr = dict(enable=False, base_batch_size=2)  # 1 GPU x batch 2
