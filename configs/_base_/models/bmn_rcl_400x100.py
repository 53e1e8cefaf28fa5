# RCL on MMAction2's BMN (RCL, CVPR 2022): BMN's base module and temporal
# evaluation module are kept; its boundary-matching map is replaced by RCL's
# continuous anchoring representation (RCLHead), sampler and recurrent refine
# module. See mmtal_zoom/models/detectors/bmn_rcl.py.
_base_ = ['./bmn_400x100.py']
model = dict(
    type='BMNRCL',
    rcl_head=dict(
        type='RCLHead',
        feat_channels=64,  # sampled channels
        num_boundary_bins=4,  # start / end regions [x -/+ 0.5 l]
        num_inner_bins=8,
        points_per_bin=3,
        boundary_ratio=0.5,
        embed_channels=256,
        with_offset=True,
        # Sec. 3.3: grid + T(T+1)/2 random + n per ground truth, SPF floor
        sampler=dict(type='RCLSampler', num_per_gt=128, gt_std_ratio=0.25),
        # Sec. 3.4: M = 10 iterations
        refine=dict(type='RecurrentRefineModule', hidden_channels=128,
                    num_iters=10),
        num_refine_queries=512,
        # Eq. 5-8: tau, lambda_1, lambda_2, alpha
        pos_iou_thr=0.7,
        loss_weight_reg=10.0,
        loss_weight_offset=1.0,
        stage_decay=0.8,
        # Soft-NMS with threshold 0.3, top-Q = post_process_top_k
        test_cfg=dict(refine_topk=None, pre_nms_topk=1000,
                      nms=dict(method='linear', iou_threshold=0.3))),
    l2_weight=1e-5)  # lambda_3 of Eq. 7
