"""User-facing APIs: single-video inference, feature extraction, ONNX export,
safe checkpoint loading.

Imported lazily (PEP 562): ``from mmtal_zoom.apis import init_localizer``
imports only what it names, so that ``import mmtal_zoom`` (which needs
:mod:`mmtal_zoom.apis.checkpoint` for its checkpoint policy) stays light.
"""
import importlib

_EXPORTS = {
    'init_localizer': 'inference',
    'inference_localizer': 'inference',
    'prepare_localizer_inputs': 'inference',
    'dump_anet_results': 'inference',
    'ClipFeatureExtractor': 'feature_extraction',
    'extract_features': 'feature_extraction',
    'load_manifest': 'feature_extraction',
    'dataset_settings_from_manifest': 'feature_extraction',
    'export_onnx': 'onnx_export',
    'load_onnx_session': 'onnx_export',
    'onnx_forward': 'onnx_export',
    'onnx_predict': 'onnx_export',
}

__all__ = list(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(
            f'module {__name__!r} has no attribute {name!r}')
    module = importlib.import_module(f'.{_EXPORTS[name]}', __name__)
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
