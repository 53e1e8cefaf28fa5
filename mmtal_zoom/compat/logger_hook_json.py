"""The test-metrics JSON of ``LoggerHook`` under DDP (mmengine 0.10.7).

Delete when ``LoggerHook.after_test_epoch`` writes on the main process only.
"""
import os


def _patch_logger_hook_test_json() -> bool:
    """mmengine 0.10.7's ``LoggerHook.after_test_epoch`` dumps the test
    metrics to ``<log_dir>/<timestamp>.json`` on *every* rank, with a plain
    truncating write: under ``dist_test.sh`` two ranks write the same file at
    once and a shorter record can overwrite the start of a longer one,
    leaving invalid JSON (seen in ``tests/tools/test_train_test_dist.py``:
    ``...}6}``). The hook's module-level ``dump`` is replaced by one that
    writes on the main process only, through
    :func:`mmtal_zoom.utils.atomic_write_bytes`. Other ranks still log the
    metrics line."""
    from mmengine.fileio import dump as original
    from mmengine.hooks import logger_hook
    if getattr(logger_hook.dump, '_mmtal_zoom_main_process_only', False):
        return True
    if logger_hook.dump is not original:  # changed upstream: leave it
        return False

    def dump(obj, file=None, file_format=None, **kwargs):
        if not isinstance(file, (str, os.PathLike)):
            return original(obj, file, file_format, **kwargs)
        from mmengine import dist

        from ..utils import atomic_write_bytes
        if not dist.is_main_process():
            return None
        file = os.fspath(file)
        text = original(obj, file_format=file_format
                        or file.rsplit('.', 1)[-1], **kwargs)
        atomic_write_bytes(text.encode('utf-8'), file)
        return None

    dump._mmtal_zoom_main_process_only = True
    logger_hook.dump = dump
    return True
