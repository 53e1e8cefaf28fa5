# MMAction2's BMN on ActivityNet-1.3 (400-d TSN features, 100 x 100 map,
# Adam 1e-3, 9 epochs, 2 GPUs x batch 8) reporting detection mAP: its
# proposals paired with the top-2 classes of the CUHK video-level
# classifier (score = proposal score x class score; VideoClassifierFusion)
# and scored by TALDetectionMetric at tIoU 0.5:0.05:0.95, the protocol of
# BMN's paper ("BMN: Boundary-Matching Network for Temporal Action Proposal
# Generation", Table 4: 33.85 average mAP on validation). The ground truth
# comes from anet_anno_val.json's annotations. Put cuhk_val_simp_share.json
# under data/ActivityNet (docs/datasets.md). A checkpoint of the stock BMN
# config loads as it is. Not yet measured here.
_base_ = [
    '../_base_/models/bmn_400x100.py',
    '../_base_/datasets/anet_bmn_feature.py',
    '../_base_/schedules/bmn_adam_9e.py', '../_base_/default_runtime.py'
]
model = dict(
    _delete_=True,
    type='ProposalDetector',
    localizer={{_base_.model}},
    fusion=dict(type='VideoClassifierFusion',
                cls_file='data/ActivityNet/cuhk_val_simp_share.json',
                topk=2))
val_evaluator = dict(
    _delete_=True,
    type='TALDetectionMetric',
    tiou_thresholds=(0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95))
test_evaluator = val_evaluator
