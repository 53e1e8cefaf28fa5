"""Small building blocks taken from mmcv: a learnable scalar (``Scale``),
a per-channel residual scale (``LayerScale``) and stochastic depth
(``DropPath``), re-exported here so that every layer imports them from one
place."""
from mmcv.cnn.bricks.drop import DropPath
from mmcv.cnn.bricks.scale import LayerScale, Scale

__all__ = ['DropPath', 'LayerScale', 'Scale']
