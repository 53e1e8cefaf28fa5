# ActionFormer on EPIC-SOUNDS with Auditory SlowFast features: data, schedule
# and NMS follow OpenTAD's EPIC-SOUNDS config
# (configs/causaltad/egovis_challenge_2024/epic_sounds_audioslowfast.py) (AdamW
# 1e-4 wd 0.05, 5 warm-up epochs, cosine scheduled to 30 but stopped at 25,
# batch 2, Soft-NMS sigma 0.4, 2000 segments); the architecture keeps
# mmtal_zoom's ActionFormer defaults (6 levels, local attention; OpenTAD's
# versions differ in levels, width and absolute position encoding). Published
# number: no published ActionFormer number known here. Not yet measured here.
_base_ = [
    '../_base_/models/actionformer.py',
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
