# HACS Segments with I3D RGB features (as TriDet / CLTDR-GMG): 2048-d, one
# feature per 0.5 s (stride 1, 1 frame at 2 fps), max_seq_len 512; train on
# 'training', evaluate on 'validation' at tIoU 0.5:0.05:0.95. Put one
# <video>.npy (T, 2048) per video under data/hacs/i3d_features.
dataset_type = 'TALFeatureDataset'
data_root = 'data/hacs'
ann_file = data_root + '/annotations/HACS_segments_v1.1.1.json'
feat_prefix = dict(feature=data_root + '/i3d_features')
feat_stride, num_frames, fps = 1, 1, 2.0
max_seq_len = 512

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
    dataset=dict(**dataset_common, subset='training', filter_empty_gt=True,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**dataset_common, subset='validation', filter_empty_gt=False,
                 test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='TALDetectionMetric',
                     tiou_thresholds=(0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8,
                                      0.85, 0.9, 0.95))
test_evaluator = val_evaluator
auto_scale_lr = dict(enable=False, base_batch_size=2)  # 1 GPU x batch 2
