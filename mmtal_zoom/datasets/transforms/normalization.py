"""StandardizeFeatures: put one video's features on a unit scale."""
from typing import Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from mmaction.registry import TRANSFORMS


@TRANSFORMS.register_module()
class StandardizeFeatures(BaseTransform):
    """``x <- (x - mean(x)) / (std(x) + eps)`` over all of one video's
    feature values (every channel and time step together).

    Own design, not from a paper. Feature extractors put their outputs on
    very different scales (I3D-like features: non-negative, mean about
    0.15, std about 0.09). BMN's base module on such small inputs starts
    with a plateau: on the ``anet-style`` preset its loss stayed at its
    initial value for 3-5 of 8 epochs, for a seed-dependent number of
    epochs (docs/robustness.md, "Proposals"). The CPU detector configs
    also learned more with it, every model on at least three of the four
    presets of the benchmark family (docs/robustness.md, "Standardised
    inputs for the detectors"). One mean and one scale per video keep the
    relations between channels and time steps (per-channel scene offsets,
    how far an action stands out) and need no dataset statistics, so a
    config works on any feature set unchanged. Written here because
    MMAction2's localization pipeline has no feature normalisation (its
    ``FormatShape`` / data preprocessors normalise images).

    Required / modified keys: each of ``keys`` (a float array of any shape).

    Args:
        keys (Sequence[str]): the results keys to standardise: MMAction2's
            localization pipeline has ``'raw_feature'``
            (``LoadLocalizationFeature``), this project's ``'inputs'``
            (``LoadTALFeatures``).
        eps (float): added to the standard deviation (a constant video).
    """

    def __init__(self, keys: Sequence[str] = ('raw_feature', ),
                 eps: float = 1e-6):
        if isinstance(keys, str):
            keys = (keys, )
        self.keys = tuple(keys)
        self.eps = float(eps)

    def transform(self, results: dict) -> dict:
        for key in self.keys:
            if key not in results:
                raise KeyError(
                    f'StandardizeFeatures: no {key!r} in the results of '
                    f'video {results.get("video_name", "?")!r} (keys: '
                    f'{sorted(results)}); put it after the loading transform')
            x = np.asarray(results[key])
            x64 = x.astype(np.float64)
            out = (x64 - x64.mean()) / (x64.std() + self.eps)
            results[key] = out.astype(x.dtype if x.dtype.kind == 'f' else
                                      np.float32)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(keys={self.keys}, eps={self.eps})'
