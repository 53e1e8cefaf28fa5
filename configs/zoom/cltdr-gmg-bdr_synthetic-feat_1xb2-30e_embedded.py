# BDR retrofitted to CLTDR-GMG (#3) on the embedded benchmark: CLTDRHead is
# wrapped by BDRRefinedHead (signed-distance branch on level 0, boundaries —
# per class when CLTDR predicts them per class — snapped to its zero
# crossings within 2 snippets). Everything else is
# ../cltdr_gmg/cltdr-gmg_synthetic-feat_1xb2-30e_embedded.py.
_base_ = ['../cltdr_gmg/cltdr-gmg_synthetic-feat_1xb2-30e_embedded.py']
model = dict(
    head=dict(
        _delete_=True,
        type='BDRRefinedHead',
        base_head={{_base_.model.head}},
        bdr=dict(type='BDRHead', in_channels=128, feat_channels=128,
                 num_convs=1, level=0, truncation=16.0, min_slope=0.5,
                 loss_weight=0.1),
        snap_window=2.0))
