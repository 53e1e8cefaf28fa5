# The field's usual ActivityNet-1.3 protocol (ActionFormer, TriDet; the
# CLTDR-GMG paper reports 37.1 average mAP in Table 4 without naming a
# video-level classifier, so this fusion is our assumption, not the paper's
# text): the detector of cltdr-gmg_tsp-feat_1xb16-15e_activitynet.py made
# class-agnostic (one class, trained on labels all 0) and its segments
# paired with the top-2 classes of the CUHK video-level classifier (score =
# segment score x class score; VideoClassifierFusion), scored by
# TALDetectionMetric at tIoU 0.5:0.05:0.95. Put cuhk_val_simp_share.json
# under data/anet_1.3/annotations (docs/datasets.md). Not yet measured here.
_base_ = ['./cltdr-gmg_tsp-feat_1xb16-15e_activitynet.py']
model = dict(
    _delete_=True,
    type='ProposalDetector',
    localizer={{_base_.model}},
    class_agnostic=True,
    fusion=dict(
        type='VideoClassifierFusion',
        cls_file='data/anet_1.3/annotations/cuhk_val_simp_share.json',
        topk=2,
        # label ids of the evaluated annotation file
        classes='data/anet_1.3/annotations/anet1.3_tsp_filtered.json'))
