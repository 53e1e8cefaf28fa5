# Matched control of the ATR model without BDR, equal inference FLOPs:
# uniform depth at ATR's expected depth (budget 0.25 x 4 deep layers = 1
# layer per token): 1 shallow + 1 deep block, ActionFormer's head.
_base_ = ['./temporal-zoom-uniform_synthetic-feat_1xb2-30e_embedded.py']
model = dict(backbone=dict(num_deep=1))
