# Temporal Zoom Networks' (Shihab et al.) network with ATR off: every token
# runs the whole deep stage: the uniform-depth baseline ATR is compared with.
# ConvProjection + 1 shallow + K=4 deep full-resolution local-attention
# blocks (ATRBackbone, router=None), then the stride-2 pyramid
# (TransformerPyramidNeck without its own stem) and ActionFormer's head.
# Sizes are THUMOS14 I3D's; configs override them.
num_levels = 6
model = dict(
    type='TALDetector',
    data_preprocessor=dict(
        type='TALDataPreprocessor', max_seq_len=2304,
        pad_size_divisor=2**(num_levels - 1)),
    backbone=dict(
        type='ATRBackbone', in_channels=2048, embed_dims=512,
        num_proj_convs=2, num_shallow=1, num_deep=4, num_heads=4,
        window_size=19, mlp_ratio=4.0, drop_path=0.1,
        router=None),  # ATR off: uniform depth
    neck=dict(type='TransformerPyramidNeck', in_channels=512,
              num_levels=num_levels, num_stem=0, num_heads=4,
              window_size=19, mlp_ratio=4.0, drop_path=0.1),
    head=dict(
        type='ActionFormerHead',
        num_classes=20,
        in_channels=512,
        feat_channels=512,
        num_convs=2,
        cls_prior_prob=0.01,
        prior_generator=dict(
            type='PointGenerator1D',
            strides=[2**i for i in range(num_levels)],
            regression_ranges=[(0, 4), (4, 8), (8, 16), (16, 32), (32, 64),
                               (64, 10000)]),
        assigner=dict(type='CenterSamplingAssigner', center_sample='radius',
                      center_sample_radius=1.5),
        loss_cls=dict(type='SigmoidFocalLoss', alpha=0.25, gamma=2.0),
        loss_reg=dict(type='IoU1DLoss', mode='diou'),
        test_cfg=dict(
            pre_nms_thresh=0.001, pre_nms_topk=2000, duration_thresh=0.05,
            nms=dict(method='gaussian', iou_threshold=0.1, sigma=0.5,
                     min_score=0.001, max_num=200, class_agnostic=False))))
