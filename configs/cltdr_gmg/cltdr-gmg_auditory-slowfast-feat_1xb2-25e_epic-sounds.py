# CLTDR-GMG on EPIC-SOUNDS with Auditory SlowFast features: data, schedule and
# NMS as the ActionFormer config of this dataset
# (configs/baseline/actionformer_auditory-slowfast-feat_1xb2-25e_epic-sounds.py),
# the model at its THUMOS14 sizes. The CLTDR-GMG paper reports no number on
# this dataset; not yet measured here.
_base_ = [
    '../_base_/models/cltdr_gmg.py',
    '../_base_/datasets/epic_sounds_auditory_slowfast.py',
    '../_base_/schedules/adamw_cosine_epic-sounds.py',
    '../_base_/default_runtime.py'
]
model = dict(
    data_preprocessor=dict(max_seq_len=6144),
    backbone=dict(in_channels=2304),
    head=dict(
        num_classes=44,
        test_cfg=dict(nms=dict(sigma=0.4, max_num=2000))))
