# ActivityNet-1.3 in MMAction2's localization layout (its
# bmn_2xb8-400x100-9e_activitynet-feature.py): 400-d TSN features (the
# CUHK release) rescaled to 100 points, one CSV per video, anet_anno_*.json;
# MMAction2's own ActivityNetDataset, pipeline and ANetMetric (AR@AN, AUC).
dataset_type = 'ActivityNetDataset'
data_root = 'data/ActivityNet/activitynet_feature_cuhk/csv_mean_100/'
data_root_val = 'data/ActivityNet/activitynet_feature_cuhk/csv_mean_100/'
ann_file_train = 'data/ActivityNet/anet_anno_train.json'
ann_file_val = 'data/ActivityNet/anet_anno_val.json'
ann_file_test = 'data/ActivityNet/anet_anno_val.json'

# 'feature_frame' also travels in training: RCL's SPF floor (one frame) is
# 1 / feature_frame in BMN's normalised coordinates; stock BMN ignores it.
train_pipeline = [
    dict(type='LoadLocalizationFeature'),
    dict(type='GenerateLocalizationLabels'),
    dict(type='PackLocalizationInputs', keys=('gt_bbox', ),
         meta_keys=('video_name', 'feature_frame'))
]
val_pipeline = [
    dict(type='LoadLocalizationFeature'),
    dict(type='GenerateLocalizationLabels'),
    dict(type='PackLocalizationInputs', keys=('gt_bbox', ),
         meta_keys=('video_name', 'duration_second', 'duration_frame',
                    'annotations', 'feature_frame'))
]
test_pipeline = [
    dict(type='LoadLocalizationFeature'),
    dict(type='PackLocalizationInputs', keys=('gt_bbox', ),
         meta_keys=('video_name', 'duration_second', 'duration_frame',
                    'annotations', 'feature_frame'))
]
train_dataloader = dict(
    batch_size=8, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True), drop_last=True,
    dataset=dict(type=dataset_type, ann_file=ann_file_train,
                 data_prefix=dict(video=data_root), pipeline=train_pipeline))
# batch_size 1: stock BMN's predict handles one video per batch
val_dataloader = dict(
    batch_size=1, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, ann_file=ann_file_val,
                 data_prefix=dict(video=data_root_val),
                 pipeline=val_pipeline, test_mode=True))
test_dataloader = dict(
    batch_size=1, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, ann_file=ann_file_test,
                 data_prefix=dict(video=data_root_val),
                 pipeline=test_pipeline, test_mode=True))
val_evaluator = dict(type='ANetMetric', metric_type='AR@AN',
                     dump_config=dict(out='work_dirs/anet_results.json',
                                      output_format='json'))
test_evaluator = val_evaluator
auto_scale_lr = dict(enable=False, base_batch_size=16)  # 2 GPUs x batch 8
