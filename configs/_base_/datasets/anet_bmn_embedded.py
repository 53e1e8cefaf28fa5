# The embedded ActivityNet-format set (no download): synthetic videos of
# the synthetic generator's videos written in MMAction2's layout by
# `python tools/make_anet_embedded.py --out data/anet_embedded`
# (400-d features rescaled to 100 points, anet_anno_{train,val,test}.json).
# Same dataset class, pipeline and metric as the real one; train on 'train',
# select on 'val', report on 'test'.
_base_ = ['./anet_bmn_feature.py']
data_root = 'data/anet_embedded/csv_mean_100/'
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(ann_file='data/anet_embedded/anet_anno_train.json',
                 data_prefix=dict(video=data_root)))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(ann_file='data/anet_embedded/anet_anno_val.json',
                 data_prefix=dict(video=data_root)))
test_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(ann_file='data/anet_embedded/anet_anno_test.json',
                 data_prefix=dict(video=data_root)))
auto_scale_lr = dict(enable=False, base_batch_size=2)  # 1 process x batch 2
