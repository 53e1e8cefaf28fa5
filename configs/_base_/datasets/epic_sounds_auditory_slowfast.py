# EPIC-SOUNDS (audio-based interaction detection, 44 classes) with
# Auditory SlowFast features fine-tuned on EPIC-SOUNDS (as OpenTAD): 2304-d,
# 30 fps, stride 6, 32-frame snippets; long recordings: training crops of
# max_seq_len 6144, evaluation on the whole recording (OpenTAD slides
# windows of 6144 instead); train on 'training', evaluate on 'validation'
# at tIoU 0.1:0.5. Convert with
#   python tools/convert_annotations.py epic-sounds EPIC_Sounds_train.csv \
#       EPIC_Sounds_validation.csv EPIC_100_video_info.csv \
#       --out data/epic_sounds/annotations/epic_sounds.json
# and put one <video_id>.npy (T, 2304) per recording under
# data/epic_sounds/auditory_slowfast_features (docs/datasets.md).
dataset_type = 'TALFeatureDataset'
data_root = 'data/epic_sounds'
ann_file = data_root + '/annotations/epic_sounds.json'
feat_prefix = dict(feature=data_root + '/auditory_slowfast_features')
feat_stride, num_frames, fps = 6, 32, 30.0
max_seq_len = 6144

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
