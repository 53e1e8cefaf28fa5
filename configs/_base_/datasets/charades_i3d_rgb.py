# Charades (action localization, 157 classes) with I3D RGB features
# fine-tuned on Charades (as OpenTAD's ActionFormer): 1024-d, 24 fps,
# stride 8, max_seq_len 768; multi-label (overlapping instances); train on
# 'training', evaluate on 'testing' (Charades_v1_test.csv is the
# localization benchmark's evaluation set) at tIoU 0.1:0.1:0.9. Convert
# Charades_v1_{train,test}.csv with
#   python tools/convert_annotations.py charades Charades_v1_train.csv \
#       Charades_v1_test.csv --fps 24 \
#       --out data/charades/annotations/charades.json
# and put one <id>.npy (T, 1024) per video under data/charades/i3d_features
# (docs/datasets.md).
dataset_type = 'TALFeatureDataset'
data_root = 'data/charades'
ann_file = data_root + '/annotations/charades.json'
feat_prefix = dict(feature=data_root + '/i3d_features')
feat_stride, num_frames, fps = 8, 8, 24.0
max_seq_len = 768

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
    batch_size=16, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**dataset_common, subset='training', filter_empty_gt=True,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**dataset_common, subset='testing', filter_empty_gt=False,
                 test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='TALDetectionMetric',
    tiou_thresholds=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6,
                     0.7, 0.8, 0.9))
test_evaluator = val_evaluator
auto_scale_lr = dict(enable=False, base_batch_size=16)  # 1 GPU x batch 16
