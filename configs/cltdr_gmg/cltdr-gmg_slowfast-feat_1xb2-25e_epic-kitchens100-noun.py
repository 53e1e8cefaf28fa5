# CLTDR-GMG on EPIC-KITCHENS-100 nouns with SlowFast features (the authors'
# configs/epic_slowfast_noun_focalloss.yaml): as the verb config but 300
# classes, FFN 1024, input noise 0.0001, AdamW wd 0.05, 10 warm-up + 15
# cosine epochs. Paper Table 3: 24.5 average mAP (noun).
_base_ = ['./cltdr-gmg_slowfast-feat_1xb2-28e_epic-kitchens100-verb.py']
ann_file = 'data/epic_kitchens/annotations/epic_kitchens_100_noun.json'
model = dict(
    data_preprocessor=dict(noise_std=0.0001),
    neck=dict(ffn_dims=1024),
    head=dict(num_classes=300))
train_dataloader = dict(dataset=dict(ann_file=ann_file))
val_dataloader = dict(dataset=dict(ann_file=ann_file))
test_dataloader = val_dataloader

max_epochs = 25
warmup_epochs = 10
train_cfg = dict(max_epochs=max_epochs, val_begin=max_epochs,
                 val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=warmup_epochs,
         end=max_epochs, T_max=max_epochs - warmup_epochs, eta_min=5e-5,
         convert_to_iter_based=True),
]
