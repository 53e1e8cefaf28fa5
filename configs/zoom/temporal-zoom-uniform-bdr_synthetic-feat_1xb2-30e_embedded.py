# Matched control of temporal-zoom-atr_synthetic-feat_1xb2-30e_embedded.py,
# equal parameters: the same network (1 shallow + 4 deep blocks, the same
# BDRRefinedHead) with ATR off: every token through all 4 deep layers. Its
# parameters are ATR + BDR's minus the router's
# (tests/configs/test_zoom_configs.py checks it).
# temporal-zoom-uniform_synthetic-feat_1xb2-30e_embedded.py is the same
# control for the ATR model without BDR.
_base_ = ['./temporal-zoom-atr_synthetic-feat_1xb2-30e_embedded.py']
model = dict(backbone=dict(router=None))
custom_hooks = []  # no router: nothing to anneal
# (the inherited lr_mult of 'backbone.router' matches no parameter here)
