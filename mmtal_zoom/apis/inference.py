"""Run a trained localizer on one video, in the style of ``mmaction.apis``.

::

    from mmtal_zoom.apis import init_localizer, inference_localizer
    model = init_localizer(
        'configs/baseline/actionformer_synthetic-feat_1xb2-30e_embedded.py',
        'work_dirs/actionformer_synthetic-feat_1xb2-30e_embedded/epoch_30.pth')
    pred = inference_localizer(model, 'features/video_0001.npy')
    pred.segments    # (K, 2) seconds
    pred.scores      # (K,)
    pred.labels      # (K,) class indices
    pred.label_names # K class names
    pred.metainfo    # video_name, duration, fps, feat_stride, num_frames,
                     # feat_len, classes

The input may be a feature file (``.npy`` / ``.pt`` of shape ``(T, C)``), an
array / tensor ``(T, C)``, or a video file together with a feature extractor
(:class:`~mmtal_zoom.apis.feature_extraction.ClipFeatureExtractor` or an
MMAction2 recognizer config). Everything after the features is the model's
own code: the config's test pipeline (``LoadTALFeatures`` ->
``PackTALInputs``), its data preprocessor, and its head's ``predict``
(decoding, Soft-NMS, grid -> seconds); nothing is re-implemented here.
"""
import copy
import os.path as osp
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.logging import print_log
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

FEATURE_SUFFIXES = ('.npy', '.pt')
DEFAULT_FEAT_SETTINGS = dict(feat_stride=4, num_frames=16, default_fps=30.0)


def _load_config(config: Union[str, Path, Config],
                 cfg_options: Optional[dict] = None) -> Config:
    if isinstance(config, (str, Path)):
        from mmtal_zoom.utils import load_config
        cfg = load_config(str(config))  # errors name the file
    elif isinstance(config, Config):
        cfg = copy.deepcopy(config)
    else:
        raise TypeError('config must be a file name or a Config, got '
                        f'{type(config).__name__}')
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg:
        raise KeyError(f'{cfg.filename}: the config has no "model".')
    return cfg


def _test_dataset_cfg(cfg: Config) -> dict:
    """The test (else val) dataset config, unwrapping dataset wrappers."""
    for key in ('test_dataloader', 'val_dataloader'):
        ds = (cfg.get(key) or {}).get('dataset')
        while isinstance(ds, dict) and isinstance(ds.get('dataset'), dict):
            ds = ds['dataset']  # RepeatDataset / ClassBalancedDataset...
        if isinstance(ds, dict):
            return ds
    return {}


def _classes_from_ann_file(ds_cfg: dict) -> Optional[tuple]:
    """Class names the dataset of the config would use (its annotation file,
    when it exists here)."""
    ann_file = ds_cfg.get('ann_file')
    if not ann_file or not osp.isfile(ann_file) or ds_cfg.get(
            'type') != 'TALFeatureDataset':
        return None
    from mmaction.registry import DATASETS
    ds = DATASETS.build(
        dict(type='TALFeatureDataset', ann_file=ann_file,
             data_prefix=dict(feature=''), check_features=False,
             classes=ds_cfg.get('classes'), test_mode=True, pipeline=[]))
    return tuple(ds.metainfo['classes'])


def init_localizer(config: Union[str, Path, Config],
                   checkpoint: Optional[str] = None,
                   device: Union[str, torch.device] = 'cpu',
                   cfg_options: Optional[dict] = None,
                   classes: Optional[Sequence[str]] = None) -> torch.nn.Module:
    """Build a localizer from its config and load its checkpoint.

    The checkpoint goes through mmengine's ``load_checkpoint`` (``strict``),
    i.e. ``torch.load(weights_only=True)`` with the allow-list of
    :mod:`mmtal_zoom.compat.checkpoint_loading`: runner checkpoints
    (``epoch_*.pth``, ``best_*.pth``, EMA) and state-dict-only files load;
    nothing in the file can execute code.

    Args:
        config: config file or :class:`mmengine.Config`.
        checkpoint: ``.pth`` file; ``None`` keeps random weights (a warning
            says so: predictions are then meaningless).
        device: ``'cpu'``, ``'cuda'``, ``'cuda:0'``...
        cfg_options: overrides merged into the config.
        classes: class names (index = label); default: the ``dataset_meta``
            the training run stored in the checkpoint, else the config's test
            dataset (its ``classes`` or annotation file), else
            ``class_0 ... class_{K-1}``.

    Returns:
        nn.Module: the model in eval mode, with ``model.cfg`` and
        ``model.dataset_meta`` (``classes``, ``feat_stride``, ``num_frames``,
        ``default_fps``, ``pipeline``).
    """
    from mmengine.runner import load_checkpoint

    import mmtal_zoom  # noqa: F401  (registry + compat: safe loading)
    from mmaction.registry import MODELS

    cfg = _load_config(config, cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model = MODELS.build(cfg.model)
    meta: dict = {}
    if checkpoint is None:
        msg = ('init_localizer: no checkpoint, the localizer keeps its '
               'RANDOM initial weights; its predictions are meaningless.')
        warnings.warn(msg, stacklevel=2)
        print_log(msg, logger='current', level=30)
    else:
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'checkpoint {checkpoint} does not '
                                    'exist.')
        try:
            ckpt = load_checkpoint(model, checkpoint, map_location='cpu',
                                   strict=True)
        except RuntimeError as exc:
            if 'do not match' not in str(exc):
                raise
            # mmengine's message lists keys but not the file: say which
            # file, and how much of the model it provides
            from .checkpoint import check_checkpoint_matches_model
            check_checkpoint_matches_model(model, checkpoint, 1.0)
            raise ValueError(f'checkpoint {checkpoint} does not fit the model '
                             f'of the config: {" ".join(str(exc).split())}'
                             [:600]) from None
        meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}

    ds_cfg = _test_dataset_cfg(cfg)
    head = getattr(model, 'head', None)
    num_classes = getattr(head, 'num_classes', None)
    source = 'argument'
    if classes is None:
        classes = (meta.get('dataset_meta') or {}).get('classes')
        source = 'checkpoint meta'
    if classes is None:
        classes = ds_cfg.get('classes') or (ds_cfg.get('metainfo')
                                            or {}).get('classes')
        source = 'config'
    if classes is None:
        classes = _classes_from_ann_file(ds_cfg)
        source = f'annotation file {ds_cfg.get("ann_file")}'
    if classes is None:
        if num_classes is None:
            raise ValueError('init_localizer: cannot tell the class names; '
                             'pass classes=...')
        classes = [f'class_{i}' for i in range(num_classes)]
        print_log('init_localizer: class names not found in the checkpoint '
                  'or config; using class_0 ... class_{K-1}.',
                  logger='current', level=30)
        source = 'generic'
    classes = tuple(str(c) for c in classes)
    if num_classes is not None and len(classes) != num_classes:
        raise ValueError(
            f'init_localizer: the head predicts {num_classes} classes but '
            f'{len(classes)} class names came from the {source} '
            f'({list(classes)[:5]}...).')
    pipeline = ds_cfg.get('pipeline') or cfg.get('test_pipeline')
    if not pipeline:
        raise KeyError(f'{cfg.filename}: no test pipeline '
                       '(test_dataloader.dataset.pipeline or test_pipeline).')
    model.cfg = cfg
    model.dataset_meta = dict(
        classes=classes,
        feat_stride=ds_cfg.get('feat_stride',
                               DEFAULT_FEAT_SETTINGS['feat_stride']),
        num_frames=ds_cfg.get('num_frames',
                              DEFAULT_FEAT_SETTINGS['num_frames']),
        default_fps=float(
            ds_cfg.get('default_fps', DEFAULT_FEAT_SETTINGS['default_fps'])),
        pipeline=[dict(t) for t in pipeline])
    model.to(device)
    model.eval()
    return model


def _build_pipeline(pipeline_cfg: Sequence[dict]) -> Callable:
    from mmaction.registry import TRANSFORMS
    transforms = [TRANSFORMS.build(copy.deepcopy(t)) for t in pipeline_cfg]

    def run(results: dict) -> dict:
        for t in transforms:
            results = t(results)
            if results is None:
                raise RuntimeError(f'test pipeline step {t!r} dropped the '
                                   'sample.')
        return results

    return run


def _as_feature_array(x: Any, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().float().cpu().numpy()
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f'features of "{name}" must have shape (T, C), got '
                         f'{x.shape}.')
    return x


def _positive(value: Any, what: str, video: str) -> float:
    """``value`` as a finite float > 0; else ``ValueError`` naming the
    video and the field (NaN fps used to reach the results JSON)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float('nan')
    if isinstance(value, bool) or not np.isfinite(number) or number <= 0:
        raise ValueError(f'video "{video}": {what} must be a positive finite '
                         f'number, got {value!r}')
    return number


def _default_duration(feat_len: int, fps: float, feat_stride: float,
                      num_frames: float) -> float:
    """The duration a ``(T, C)`` sequence covers under the snippet
    convention: ``((T - 1) * feat_stride + num_frames) / fps``."""
    return ((feat_len - 1) * feat_stride + num_frames) / fps


def prepare_localizer_inputs(model: torch.nn.Module,
                             features_or_video: Any,
                             video_name: Optional[str] = None,
                             duration: Optional[float] = None,
                             fps: Optional[float] = None,
                             extractor: Any = None,
                             extractor_checkpoint: Optional[str] = None,
                             feature_dir: Optional[str] = None) -> dict:
    """Input -> one batch (``dict(inputs=[...], data_samples=[...])``) after
    the model's test pipeline, ready for ``model.test_step`` or
    ``model.data_preprocessor``. See :func:`inference_localizer`."""
    from .feature_extraction import ClipFeatureExtractor
    from .feature_manifest import save_npy_atomic
    from .video_snippets import VIDEO_EXTENSIONS
    meta = getattr(model, 'dataset_meta', None) or {}
    if 'pipeline' not in meta:
        raise ValueError('prepare_localizer_inputs: build the model with '
                         'init_localizer (it records the test pipeline and '
                         'the feature settings in model.dataset_meta).')
    feat_stride, num_frames = meta['feat_stride'], meta['num_frames']
    feature_path, feats, info = None, None, {}
    if isinstance(features_or_video, (str, Path)):
        path = str(features_or_video)
        ext = osp.splitext(path)[1].lower()
        video_name = video_name or osp.splitext(osp.basename(path))[0]
        if ext in FEATURE_SUFFIXES:
            if not osp.isfile(path):
                raise FileNotFoundError(f'feature file {path} does not '
                                        'exist.')
            feature_path = path
        elif ext in VIDEO_EXTENSIONS:
            if extractor is None:
                raise ValueError(
                    f'{path} is a video: give a feature extractor '
                    '(extractor=<MMAction2 recognizer config> and '
                    'extractor_checkpoint=...) or extract features first '
                    'with tools/extract_features.py.')
            if not isinstance(extractor, ClipFeatureExtractor):
                extractor = ClipFeatureExtractor(
                    extractor, extractor_checkpoint,
                    device=str(next(model.parameters()).device),
                    feat_stride=feat_stride)
            if (extractor.feat_stride, extractor.num_frames) != (feat_stride,
                                                                 num_frames):
                print_log(
                    f'inference: the extractor gives snippets of '
                    f'{extractor.num_frames} frames every '
                    f'{extractor.feat_stride}, the localizer was configured '
                    f'for {num_frames} every {feat_stride}; times follow the '
                    'extractor, accuracy may suffer.', logger='current',
                    level=30)
            feats, info = extractor.extract(path)
            feat_stride, num_frames = (extractor.feat_stride,
                                       extractor.num_frames)
        else:
            raise ValueError(
                f'{path}: unknown input type "{ext}"; expected a feature file '
                f'({", ".join(FEATURE_SUFFIXES)}) or a video '
                f'({", ".join(VIDEO_EXTENSIONS)}).')
    else:
        video_name = video_name or 'video'
        feats = _as_feature_array(features_or_video, video_name)

    fps = _positive(fps if fps is not None else
                    info.get('fps') or meta['default_fps'], 'fps',
                    video_name)
    if duration is not None:
        duration = _positive(duration, 'duration', video_name)
    tmp = None
    if feature_path is None:
        # The array goes through the model's own loader (LoadTALFeatures,
        # with its shape / length / finiteness checks) as a file.
        if feature_dir is None:
            tmp = tempfile.TemporaryDirectory(prefix='mmtal_infer_')
            feature_dir = tmp.name
        feature_path = osp.join(feature_dir, f'{video_name}.npy')
        save_npy_atomic(np.ascontiguousarray(feats, np.float32),
                        feature_path)
    try:
        if duration is None:
            duration = info.get('duration')
        if duration is None:
            from mmtal_zoom.datasets.transforms.loading import \
                load_feature_file
            t = feats.shape[0] if feats is not None else \
                load_feature_file(feature_path).shape[0]
            duration = _default_duration(t, fps, feat_stride, num_frames)
        results = dict(
            video_name=video_name, feature_path=feature_path,
            subset='inference', duration=float(duration), fps=fps,
            feat_stride=feat_stride, num_frames=num_frames,
            gt_segments=np.zeros((0, 2), np.float32),
            gt_labels=np.zeros((0, ), np.int64))
        data = _build_pipeline(meta['pipeline'])(results)
        in_channels = getattr(getattr(model, 'backbone', None),
                              'in_channels', None)
        channels = data['inputs'].shape[0]  # (C, T)
        if isinstance(in_channels, int) and channels != in_channels:
            raise ValueError(
                f'{feature_path} (video "{video_name}"): {channels}-d '
                f'features, but the model expects {in_channels}-d (its '
                "backbone's in_channels): features of another extractor?")
    finally:
        if tmp is not None:
            tmp.cleanup()
    return pseudo_collate([data])


def _finish(pred: InstanceData, sample: Any, classes: Sequence[str],
            score_thr: float) -> InstanceData:
    keep = pred.scores >= score_thr
    pred = pred[keep]
    order = torch.argsort(pred.scores, descending=True)
    pred = pred[order]
    labels = pred.labels.tolist()
    pred.label_names = [classes[i] for i in labels]
    meta = {k: sample.metainfo[k] for k in (
        'video_name', 'duration', 'fps', 'feat_stride', 'num_frames',
        'feat_len') if k in sample.metainfo}
    meta['classes'] = tuple(classes)
    pred.set_metainfo(meta)
    return pred


@torch.no_grad()
def inference_localizer(model: torch.nn.Module,
                        features_or_video: Any,
                        video_name: Optional[str] = None,
                        duration: Optional[float] = None,
                        fps: Optional[float] = None,
                        score_thr: float = 0.0,
                        extractor: Any = None,
                        extractor_checkpoint: Optional[str] = None,
                        onnx_session: Any = None) -> InstanceData:
    """Detect the actions of one video.

    Args:
        model: from :func:`init_localizer`.
        features_or_video: a feature file (``.npy`` / ``.pt``, ``(T, C)``),
            an array / tensor ``(T, C)``, or a video file (then
            ``extractor`` is required).
        video_name: default: the file's stem, or ``'video'``.
        duration: seconds; default: the video's (when extracting), else what
            ``T`` snippets cover, ``((T - 1) * feat_stride + num_frames) /
            fps``.
        fps: frame rate of the snippet grid; default: the extractor's, else
            the config's ``default_fps``.
        score_thr: drop detections scoring lower.
        extractor: for videos: a
            :class:`~mmtal_zoom.apis.feature_extraction.ClipFeatureExtractor`
            or an MMAction2 recognizer config (file or ``Config``).
        extractor_checkpoint: the recognizer's weights when ``extractor`` is
            a config (``None``: random, for tests only).
        onnx_session: an ``onnxruntime.InferenceSession`` of a model written
            by :func:`mmtal_zoom.apis.export_onnx`: the backbone, neck and
            head tensors run there; post-processing stays the head's own.

    Returns:
        InstanceData: ``segments`` ``(K, 2)`` seconds, ``scores``, ``labels``,
        ``label_names`` (sorted by score), with metainfo ``video_name``,
        ``duration``, ``fps``, ``feat_stride``, ``num_frames``, ``feat_len``,
        ``classes``.
    """
    data = prepare_localizer_inputs(model, features_or_video, video_name,
                                    duration, fps, extractor,
                                    extractor_checkpoint)
    if onnx_session is None:
        samples = model.test_step(data)
        preds = [s.pred_instances for s in samples]
    else:
        from .onnx_export import onnx_predict
        batch = model.data_preprocessor(data, False)
        preds = onnx_predict(onnx_session, model, batch['inputs'],
                             batch['masks'], batch['data_samples'])
        samples = batch['data_samples']
    return _finish(preds[0], samples[0], model.dataset_meta['classes'],
                   score_thr)


def predictions_to_records(preds: Sequence[InstanceData]) -> List[dict]:
    """Records for ``TALDetectionMetric.dump_results`` (ActivityNet JSON)."""
    return [
        dict(video_name=p.metainfo['video_name'],
             pred_segments=p.segments.detach().cpu().numpy().reshape(-1, 2),
             pred_scores=p.scores.detach().cpu().numpy(),
             pred_labels=p.labels.detach().cpu().numpy()) for p in preds
    ]


def dump_anet_results(preds: Sequence[InstanceData], out_file: str,
                      classes: Sequence[str]) -> str:
    """Write predictions as ActivityNet-format JSON (atomically) with the
    evaluation package's own writer: ``{"version", "results": {video:
    [{"label", "segment": [s, e], "score"}]}, "external_data"}``."""
    from mmtal_zoom.evaluation.metrics import TALDetectionMetric
    if not str(out_file).endswith('.json'):
        raise ValueError(f'--out must be a .json file, got {out_file}')
    TALDetectionMetric.dump_results(
        predictions_to_records(preds), list(classes), out_file)
    return out_file


__all__ = [
    'init_localizer', 'inference_localizer', 'prepare_localizer_inputs',
    'dump_anet_results', 'predictions_to_records'
]
