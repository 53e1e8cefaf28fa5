"""User-facing APIs: single-video inference, feature extraction, ONNX export.

Imported on demand (``from mmtal_zoom.apis import init_localizer``), not by
``import mmtal_zoom``, so that registering the components stays light.
"""
from .feature_extraction import (ClipFeatureExtractor,
                                 dataset_settings_from_manifest,
                                 extract_features, load_manifest)
from .inference import (dump_anet_results, inference_localizer, init_localizer,
                        prepare_localizer_inputs)
from .onnx_export import (export_onnx, load_onnx_session, onnx_forward,
                          onnx_predict)

__all__ = [
    'init_localizer', 'inference_localizer', 'prepare_localizer_inputs',
    'dump_anet_results', 'ClipFeatureExtractor', 'extract_features',
    'load_manifest', 'dataset_settings_from_manifest', 'export_onnx',
    'load_onnx_session', 'onnx_forward', 'onnx_predict'
]
