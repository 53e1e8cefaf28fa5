# BMN + RCL on ActivityNet-1.3 (bmn-rcl_tsn-feat_2xb8-10e_activitynet.py)
# reporting detection mAP: its proposals paired with the top-2 classes of the
# CUHK video-level classifier (score = proposal score x class score;
# VideoClassifierFusion) and scored by TALDetectionMetric at tIoU
# 0.5:0.05:0.95, the protocol of RCL's detection results ("RCL: Recurrent
# Continuous Localization for Temporal Action Detection"; their value is not
# quoted here). Put cuhk_val_simp_share.json under data/ActivityNet
# (docs/datasets.md). A checkpoint of the BMN + RCL config loads as it is.
# Not yet measured here.
_base_ = ['./bmn-rcl_tsn-feat_2xb8-10e_activitynet.py']
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
