# Ego4D Moment Queries (episodic-memory benchmark, v1/v2 annotations) with
# EgoVLP features (as OpenTAD's ActionFormer): 256-d, 30 fps, stride 16,
# 16-frame snippets, max_seq_len 1024 (an 8-minute clip is ~900 features);
# one entry per clip (clip_uid), 110 classes; train on 'train', evaluate on
# 'val' (test labels are withheld by the challenge server) at tIoU 0.1:0.5.
# Convert moments_{train,val}.json with
#   python tools/convert_annotations.py ego4d-mq moments_train.json \
#       moments_val.json --out data/ego4d_mq/annotations/ego4d_mq.json
# and put one <clip_uid>.npy (T, 256) per clip under
# data/ego4d_mq/egovlp_features (docs/datasets.md).
dataset_type = 'TALFeatureDataset'
data_root = 'data/ego4d_mq'
ann_file = data_root + '/annotations/ego4d_mq.json'
feat_prefix = dict(feature=data_root + '/egovlp_features')
feat_stride, num_frames, fps = 16, 16, 30.0
max_seq_len = 1024

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
    dataset=dict(**dataset_common, subset='train', filter_empty_gt=True,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**dataset_common, subset='val', filter_empty_gt=False,
                 test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='TALDetectionMetric',
                     tiou_thresholds=(0.1, 0.2, 0.3, 0.4, 0.5))
test_evaluator = val_evaluator
auto_scale_lr = dict(enable=False, base_batch_size=2)  # 1 GPU x batch 2
