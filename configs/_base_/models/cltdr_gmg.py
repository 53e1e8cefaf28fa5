# CLTDR-GMG (Li et al., AAAI 2025) as TALDetector parts: two conv + ReLU
# projection layers (ConvProjection), a pyramid of GMG blocks with max-pool
# downsampling (GMGNeck), the CLTDR decoder (CLTDRHead). The paper's
# equations are the defaults; the authors' code's variants are options (see
# docs/cltdr_gmg.md). Sizes are THUMOS14 I3D's; configs override them.
num_levels = 6
model = dict(
    type='TALDetector',
    data_preprocessor=dict(
        type='TALDataPreprocessor', max_seq_len=2304,
        pad_size_divisor=2**(num_levels - 1), noise_std=0.05),
    backbone=dict(type='ConvProjection', in_channels=2048, embed_dims=512,
                  num_convs=2, kernel_size=3, with_ln=True),
    neck=dict(
        type='GMGNeck',
        in_channels=512,
        num_levels=num_levels,
        num_stem=2,
        ffn_dims=768,
        local_kernel_size=3,
        use_instant=True, use_local=True, use_global=True,
        gate='paper',  # Eq. 4, nested ('flat' | 'official' | 'none')
        global_mixer='fft',  # 'attention' for the Table 8 comparison
        global_filter=dict(filter_type='conv', kernel_size=3),  # Eq. 2
        num_groups=16,
        drop_path=0.1,
        out_norm=True),
    head=dict(
        type='CLTDRHead',
        num_classes=20,
        in_channels=512,
        feat_channels=512,
        num_convs=2,
        kernel_size=3,
        num_bins=16,
        boundary_kernel_size=3,
        fusion='attention',  # Eq. 5-8 ('add' | 'concat': Table 11)
        cls_layers=[1, 0],  # DCM: P^(l+1) + P^l (Table 9)
        reg_layers=[0, -1],  # DRM: P^l + P^(l-1) (Table 9)
        refine_cls=True, refine_reg=True,  # RefineHead (Table 10)
        refine_score='sqrt',  # Eq. 10
        edge_levels='plain',  # CLTDR on intermediate levels only
        cls_prior_prob=0.01,
        prior_generator=dict(
            type='PointGenerator1D',
            strides=[2**i for i in range(num_levels)],
            regression_ranges=[(0, 4), (4, 8), (8, 16), (16, 32), (32, 64),
                               (64, 10000)]),
        assigner=dict(type='CenterSamplingAssigner', center_sample='radius',
                      center_sample_radius=1.5),
        bbox_coder=dict(type='SegmentDistanceCoder'),
        # Eq. 13: sigma_IoU * varifocal loss (VFNet's, which itself weights
        # positives by their IoU target q: q^2 BCE in all) + IoU loss
        loss_cls=dict(type='VarifocalLoss', alpha=0.75, gamma=2.0,
                      iou_weighted=True),
        # "IOU loss (Rezatofighi et al. 2019)": the GIoU paper
        loss_reg=dict(type='IoU1DLoss', mode='giou'),
        cls_target='iou',
        iou_weight_power=1.0,  # sigma_IoU^1 in Eq. 13
        loss_normalization='pos_neg',
        loss_normalizer=100.0,
        test_cfg=dict(
            pre_nms_thresh=0.001, pre_nms_topk=2000, duration_thresh=0.05,
            nms=dict(method='gaussian', iou_threshold=0.1, sigma=0.5,
                     min_score=0.001, max_num=2000, class_agnostic=False))))
