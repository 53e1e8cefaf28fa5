# BDR retrofitted to the uniform baseline (#2) on the embedded benchmark: the
# baseline's own head is wrapped by BDRRefinedHead, which adds the
# signed-distance branch on level 0 and snaps the predicted boundaries to its
# zero crossings (within 2 snippets). Everything else is the baseline's.
_base_ = ['../baseline/actionformer_synthetic-feat_1xb2-30e_embedded.py']
model = dict(
    head=dict(
        _delete_=True,
        type='BDRRefinedHead',
        base_head={{_base_.model.head}},
        bdr=dict(type='BDRHead', in_channels=128, feat_channels=128,
                 num_convs=1, level=0, truncation=16.0, min_slope=0.5,
                 loss_weight=0.1),
        snap_window=2.0))
