# RCL on THUMOS14 with two-stream I3D features (RCL paper, Table 1:
# "RCL: Recurrent Continuous Localization for Temporal Action Detection",
# CVPR 2022), as the second stage of a two-stage detector.
#
# First stage: ActionFormer's THUMOS14 recipe unchanged
# (../baseline/actionformer_i3d-feat_1xb2-35e_thumos14.py: 2048-d features,
# stride 4, 16 frames, AdamW 1e-4, 5 + 30 epochs, batch 2). Second stage:
# RCL's continuous anchoring representation scores each proposal from the
# finest pyramid level's features and its coordinates, and the recurrent
# refine module moves its boundaries (RCLRoIHead; the paper's M = 10
# iterations, lambda_1 = 10, lambda_2 = 1, alpha = 0.8: RCLHead's defaults).
# Post-processing as the paper's on THUMOS14: Soft-NMS, top 200 per video.
#
# Not the paper's base: the paper plugs RCL into BMN / G-TAD on windows of
# each video -- that reading is
# bmn-rcl_i3d-feat_1xb16-10e_thumos14-window128.py (tools/bmn_windows.py).
# This one refines ActionFormer's
# proposals and keeps ActionFormer's optimiser, not the paper's THUMOS14 one
# (Adam, lr 6e-6, batch 16, 5 + 5 epochs). No accuracy figure: THUMOS14 I3D
# features cannot be downloaded on the project's machines.
_base_ = ['../baseline/actionformer_i3d-feat_1xb2-35e_thumos14.py']
model = dict(
    type='TwoStageTALDetector',
    roi_head=dict(
        type='RCLRoIHead',
        refiner=dict(
            type='RCLHead', feat_channels=128, embed_channels=256,
            refine=dict(type='RecurrentRefineModule', hidden_channels=128,
                        num_iters=10)),
        refine_level=0),
    train_cfg=dict(num_proposals=256),
    test_cfg=dict(num_proposals=2000))
