# Matched control of zoom_atr_embedded.py, equal parameters: the same network
# (1 shallow + 4 deep blocks, the same BDRRefinedHead) with ATR off — every
# token through all 4 deep layers. Its parameters are ATR + BDR's minus the
# router's (tests/configs/test_zoom_configs.py checks it). zoom_uniform_
# embedded.py is the same control for zoom_atr_nobdr_embedded.py.
_base_ = ['./zoom_atr_embedded.py']
model = dict(backbone=dict(router=None))
custom_hooks = []  # no router: nothing to anneal
# (the inherited lr_mult of 'backbone.router' matches no parameter here)
