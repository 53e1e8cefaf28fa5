"""mmcv-lite's import-time warning about ``MultiScaleDeformableAttention``.

mmcv-lite (no C++ ops) is the intended build; the op is never used here.
Not a bug work-around, a filter: delete if mmcv-lite stops warning.
"""


def _silence_mmcv_lite_warning() -> None:
    """mmcv-lite (no C++ ops) is the intended build; its import-time warning
    about ``MultiScaleDeformableAttention`` is noise for this plugin, which
    never uses that op."""
    import warnings
    warnings.filterwarnings(
        'ignore', message='Fail to import ``MultiScaleDeformableAttention``')
