# Matched control of zoom_atr_nobdr_embedded.py, equal inference FLOPs:
# uniform depth at ATR's expected depth (budget 0.25 x 4 deep layers = 1
# layer per token): 1 shallow + 1 deep block, ActionFormer's head.
_base_ = ['./zoom_uniform_embedded.py']
model = dict(backbone=dict(num_deep=1))
