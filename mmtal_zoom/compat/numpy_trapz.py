"""numpy 2.4 removed ``np.trapz``, which mmaction2 1.2.0's ``ANetMetric``
calls (AUC of the AR@AN curve).

Upstream: numpy 2.0 deprecated ``trapz`` in favour of ``trapezoid`` and 2.4
removed it; mmaction2 1.2.0 (``mmaction/evaluation/functional``) still calls
it. The requirements pin numpy < 2.4; if a newer numpy is present anyway,
``np.trapz`` is aliased to ``np.trapezoid`` (same maths). Delete when
mmaction2 calls ``np.trapezoid``.
"""


def _restore_np_trapz() -> bool:
    import numpy as np
    if hasattr(np, 'trapz'):
        return False
    np.trapz = np.trapezoid
    return True
