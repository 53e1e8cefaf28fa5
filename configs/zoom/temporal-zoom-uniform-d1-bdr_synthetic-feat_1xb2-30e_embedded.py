# Matched control of the ATR + BDR model, equal inference FLOPs: uniform
# depth at ATR's expected depth. ATR's budget 0.25 of K = 4 deep layers is
# tau K = 1 layer per token on average (exactly one for an untrained router),
# so this is 1 shallow + 1 deep block with the same BDR head; its FLOPs are
# those of ATR + BDR at its budget minus the router's
# (tests/configs/test_zoom_configs.py checks it at the router's initial
# depth). For other budgets set num_deep = round(budget * 4).
_base_ = ['./temporal-zoom-uniform-bdr_synthetic-feat_1xb2-30e_embedded.py']
model = dict(backbone=dict(num_deep=1))
