# CLTDR-GMG on THUMOS14 I3D with every departure of the authors' code from
# the paper switched on (docs/cltdr_gmg.md lists them): complex-MLP +
# softshrink global filter instead of Eq. 2's depth-wise convs, the code's
# gating order, a per-channel instant branch, local window 1, layer scale
# 1e-4, refined score = product of raw logits instead of Eq. 10, per-class
# boundaries read from the detached pyramid feature, refinement offset
# kernel 7, binary VFL targets, sigma_IoU^0.2 instead of Eq. 13's sigma_IoU,
# a DIoU instead of the paper's GIoU loss, EMA loss normaliser and
# 0.7 * refined + 0.3 * pre-refinement (focal) losses.
_base_ = ['./cltdr_gmg_thumos14_i3d.py']
model = dict(
    neck=dict(local_kernel_size=1, gate='official',
              global_filter=dict(_delete_=True, filter_type='mlp',
                                 sparsity_threshold=0.001),
              instant_depthwise=True, layer_scale_init=1e-4),
    head=dict(refine_score='logit_product', boundary_per_class=True,
              boundary_feat='pyramid', refine_kernel_size=7,
              cls_target='binary', iou_weight_power=0.2,
              loss_reg=dict(mode='diou'), loss_normalization='ema',
              refined_loss_weight=0.7, pre_refine_loss_weight=0.3,
              loss_pre_cls=dict(type='SigmoidFocalLoss')))
