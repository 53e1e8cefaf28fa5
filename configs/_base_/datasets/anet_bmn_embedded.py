# The embedded ActivityNet-format set (no download): synthetic videos of
# the synthetic generator's videos written in MMAction2's layout by
# `python tools/make_anet_embedded.py --out data/anet_embedded`
# (400-d features rescaled to 100 points, anet_anno_{train,val,test}.json).
# Same dataset class, pipeline and metric as the real one; train on 'train',
# select on 'val', report on 'test'.
_base_ = ['./anet_bmn_feature.py']
data_root = 'data/anet_embedded/csv_mean_100/'
# Each video's features on a unit scale (StandardizeFeatures, own design):
# on raw I3D-like features (mean ~0.16, std ~0.09) BMN's loss stayed at its
# initial value for 3-5 of the 8 CPU epochs, a seed-dependent number of
# them; standardised, both BMN and BMN + RCL leave that plateau within the
# first epoch (docs/robustness.md, "Proposals"). The CPU configs only: the
# real-data configs keep MMAction2's pipeline (not measured on real
# features).
_load = dict(type='LoadLocalizationFeature')
_standardize = dict(type='StandardizeFeatures')
train_pipeline = [
    _load, _standardize,
    dict(type='GenerateLocalizationLabels'),
    dict(type='PackLocalizationInputs', keys=('gt_bbox', ),
         meta_keys=('video_name', 'feature_frame'))
]
val_pipeline = [
    _load, _standardize,
    dict(type='GenerateLocalizationLabels'),
    dict(type='PackLocalizationInputs', keys=('gt_bbox', ),
         meta_keys=('video_name', 'duration_second', 'duration_frame',
                    'annotations', 'feature_frame'))
]
test_pipeline = [
    _load, _standardize,
    dict(type='PackLocalizationInputs', keys=('gt_bbox', ),
         meta_keys=('video_name', 'duration_second', 'duration_frame',
                    'annotations', 'feature_frame'))
]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(ann_file='data/anet_embedded/anet_anno_train.json',
                 data_prefix=dict(video=data_root),
                 pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(ann_file='data/anet_embedded/anet_anno_val.json',
                 data_prefix=dict(video=data_root), pipeline=val_pipeline))
test_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(ann_file='data/anet_embedded/anet_anno_test.json',
                 data_prefix=dict(video=data_root), pipeline=test_pipeline))
auto_scale_lr = dict(enable=False, base_batch_size=2)  # 1 process x batch 2
