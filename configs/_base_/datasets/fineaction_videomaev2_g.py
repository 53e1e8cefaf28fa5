# FineAction with VideoMAEv2-g (K710 fine-tuned, 16x4x1) features (as
# OpenTAD's ActionFormer): 1408-d, 30 fps, stride 16, 16-frame snippets,
# 106 classes; features kept at their own length and cropped / padded to
# max_seq_len 2304 (OpenTAD resizes every video to 192 instead: a test-time
# option this config does not use); train on 'training', evaluate on
# 'validation' at tIoU 0.5:0.05:0.95. Convert annotations_gt.json with
#   python tools/convert_annotations.py fineaction annotations_gt.json \
#       --out data/fineaction/annotations/fineaction.json
# and put one <video>.npy (T, 1408) per video under
# data/fineaction/videomaev2_g_features (docs/datasets.md).
dataset_type = 'TALFeatureDataset'
data_root = 'data/fineaction'
ann_file = data_root + '/annotations/fineaction.json'
feat_prefix = dict(feature=data_root + '/videomaev2_g_features')
feat_stride, num_frames, fps = 16, 16, 30.0
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
    batch_size=16, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**dataset_common, subset='training', filter_empty_gt=True,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**dataset_common, subset='validation', filter_empty_gt=False,
                 test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='TALDetectionMetric',
    tiou_thresholds=(0.5, 0.55, 0.6, 0.65,
                     0.7, 0.75, 0.8, 0.85, 0.9, 0.95))
test_evaluator = val_evaluator
auto_scale_lr = dict(enable=False, base_batch_size=16)  # 1 GPU x batch 16
