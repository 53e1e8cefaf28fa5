# RCL as the second stage of a two-stage detector on the uniform baseline
# (ActionFormer parts,
# configs/baseline/actionformer_synthetic-feat_1xb2-30e_embedded.py): the
# baseline head proposes, RCL's continuous anchoring representation + recurrent
# refine module re-scores and moves the boundaries of its top candidates on
# the finest pyramid level. See mmtal_zoom/models/roi_heads/rcl_roi_head.py.
_base_ = ['../baseline/actionformer_synthetic-feat_1xb2-30e_embedded.py']
model = dict(
    type='TwoStageTALDetector',
    roi_head=dict(
        type='RCLRoIHead',
        refiner=dict(
            type='RCLHead', feat_channels=64, embed_channels=128,
            refine=dict(type='RecurrentRefineModule', hidden_channels=64,
                        num_iters=4)),
        refine_level=0),
    train_cfg=dict(num_proposals=256),
    test_cfg=dict(num_proposals=1000))
