"""Snippet features of raw videos from an MMAction2 recognizer.

A video of ``N`` frames (at the extraction ``fps``) becomes a ``(T, C)``
array: snippet ``i`` is the clip of ``clip_len`` frames taken every
``frame_interval`` frames from frame ``i * feat_stride``; it spans
``num_frames = clip_len * frame_interval`` frames and is centred at frame
``i * feat_stride + num_frames / 2`` -- the convention of
:mod:`mmtal_zoom.structures.time_grid` (ActionFormer's), so that a dataset
config with the same ``feat_stride`` / ``num_frames`` / ``fps`` maps the
features back to seconds correctly. Snippets are taken while a whole window
fits::

    T = max(1, floor((N - num_frames) / feat_stride) + 1)

(a video shorter than one window gives one snippet whose missing frames
repeat the last one). This is the length that
``LoadTALFeatures`` expects, ``(duration * fps - num_frames) / feat_stride +
1``.

Every clip goes through the recognizer's own test-time spatial pipeline
(``Resize``, ``CenterCrop``, ... from its config), its data preprocessor
(mean / std) and its backbone; the backbone output is average-pooled over
time and space (``C`` = backbone channels; the two pathways of SlowFast are
concatenated). Decoding uses MMAction2's own ``DecordInit`` /
``DecordDecode`` transforms from the registry, a chunk of frames at a time,
so long videos do not have to fit in memory.
"""
import json
import logging
import os
import os.path as osp
import warnings
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger, print_log

from ..utils import atomic_write_json
from .feature_manifest import (_SETTING_KEYS, MANIFEST_NAME, MANIFEST_VERSION,
                               _is_done, dataset_settings_from_manifest,
                               iter_manifest_videos, load_manifest,
                               save_npy_atomic, source_stamp)
from .video_snippets import (VIDEO_EXTENSIONS, collect_videos, snippet_count,
                             snippet_frame_indices, video_name_of)

# the video and manifest helpers live in video_snippets.py and
# feature_manifest.py; their names stay importable from here
__all__ = ['ClipFeatureExtractor', 'extract_features', 'VIDEO_EXTENSIONS',
           'MANIFEST_NAME', 'MANIFEST_VERSION', 'collect_videos',
           'snippet_count', 'snippet_frame_indices', 'video_name_of',
           'save_npy_atomic', 'load_manifest', 'source_stamp',
           'dataset_settings_from_manifest', 'iter_manifest_videos']


# Pipeline steps that decode or sample frames in time, or pack the result:
# extraction does these itself (sliding snippets instead of SampleFrames).
_TEMPORAL_STEPS = {
    'DecordInit', 'DecordDecode', 'OpenCVInit', 'OpenCVDecode', 'PyAVInit',
    'PyAVDecode', 'PyAVDecodeMotionVector', 'RawFrameDecode', 'ArrayDecode',
    'SampleFrames', 'UntrimmedSampleFrames', 'DenseSampleFrames',
    'SampleAVAFrames', 'UniformSample', 'UniformSampleFrames', 'FormatShape',
    'PackActionInputs', 'Collect', 'ToTensor'
}
# Multi-view test crops would turn one snippet into several feature vectors.
_MULTI_VIEW_CROPS = {'ThreeCrop', 'TenCrop'}


def _is_decode_error(exc: Exception) -> bool:
    """Errors of a corrupt or truncated video: decord's ``DECORDError``
    (not a ``RuntimeError``) and the OS / value errors of its readers."""
    if isinstance(exc, (RuntimeError, OSError, ValueError, EOFError)):
        return True
    return type(exc).__name__ == 'DECORDError'


def _test_pipeline(cfg: Config) -> List[dict]:
    for key in ('test_pipeline', 'val_pipeline'):
        if cfg.get(key):
            return list(cfg[key])
    for loader in ('test_dataloader', 'val_dataloader'):
        pipeline = (cfg.get(loader) or {}).get('dataset', {}).get('pipeline')
        if pipeline:
            return list(pipeline)
    raise ValueError(f'{cfg.filename}: the extractor config has no '
                     'test_pipeline / test_dataloader.dataset.pipeline (its '
                     'spatial transforms and clip length come from there).')


def _json_roundtrip(obj):
    return json.loads(json.dumps(obj))


def _pool(feats) -> torch.Tensor:
    """Global average pooling of a backbone output to ``(B, C)``."""
    if isinstance(feats, torch.Tensor):
        return feats.flatten(2).mean(-1) if feats.dim() > 2 else feats
    if isinstance(feats, (tuple, list)) and all(
            isinstance(f, torch.Tensor) for f in feats):
        # e.g. SlowFast: (slow, fast) pathways, concatenated (as its head)
        return torch.cat([_pool(f) for f in feats], dim=1)
    raise TypeError(
        'feature extraction pools a backbone output that is a tensor '
        '(B, C, ...) or a tuple of them (SlowFast); this backbone returned '
        f'{type(feats).__name__}. Use a 3D recognizer (I3D, SlowOnly, '
        'SlowFast, X3D, VideoMAE/ViT...) or add a neck that pools.')


class ClipFeatureExtractor:
    """An MMAction2 recognizer used as a sliding-snippet feature extractor.

    Args:
        config (str | Config): MMAction2 recognizer config (3D recognizer,
            ``FormatShape(input_format='NCTHW')``).
        checkpoint (str, optional): its weights (MMAction2 model zoo or your
            own training). ``None``: random initialisation (seeded) -- the
            features carry no semantic information; for tests only. A warning
            says so.
        device (str): ``'cpu'``, ``'cuda'``, ``'cuda:1'``...
        feat_stride (int): frames between consecutive snippets. Default 4.
        clip_len (int, optional): frames per clip fed to the recognizer;
            default: ``SampleFrames.clip_len`` of the config's test pipeline.
        frame_interval (int, optional): temporal step between those frames;
            default: ``SampleFrames.frame_interval`` of the config.
        fps (float, optional): resample every video to this frame rate
            first (nearest frame); ``None`` keeps each video's own fps.
        batch_size (int): clips per forward pass. Default 16.
        seed (int): seed of the random initialisation. Default 0.
        decode_threads (int): decord threads. Default 1.
    """

    def __init__(self,
                 config: Union[str, Config],
                 checkpoint: Optional[str] = None,
                 device: str = 'cpu',
                 feat_stride: int = 4,
                 clip_len: Optional[int] = None,
                 frame_interval: Optional[int] = None,
                 fps: Optional[float] = None,
                 batch_size: int = 16,
                 seed: int = 0,
                 decode_threads: int = 1):
        import mmtal_zoom  # noqa: F401  (compat: safe checkpoint loading)
        from mmaction.registry import TRANSFORMS
        if isinstance(config, os.PathLike):
            config = os.fspath(config)
        cfg = Config.fromfile(config) if isinstance(config, str) else config
        self.cfg = cfg
        self.config_path = cfg.filename if isinstance(config, Config) \
            else config
        self.checkpoint = checkpoint
        self.device = device
        if feat_stride < 1 or batch_size < 1:
            raise ValueError(f'feat_stride and batch_size must be >= 1, got '
                             f'{feat_stride} and {batch_size}')
        if fps is not None and not fps > 0:
            raise ValueError(f'fps must be positive, got {fps}')
        self.feat_stride = int(feat_stride)
        self.fps = None if fps is None else float(fps)
        self.batch_size = int(batch_size)
        self.seed = int(seed)

        pipeline = _test_pipeline(cfg)
        sampler = next((t for t in pipeline if 'SampleFrames' in t['type']),
                       {})
        self.clip_len = int(clip_len or sampler.get('clip_len') or 0)
        self.frame_interval = int(frame_interval
                                  or sampler.get('frame_interval') or 1)
        if self.clip_len < 1:
            raise ValueError(f'{self.config_path}: no SampleFrames in the '
                             'test pipeline to take clip_len from; give '
                             'clip_len.')
        self.num_frames = self.clip_len * self.frame_interval
        fmt = next((t for t in pipeline if t['type'] == 'FormatShape'),
                   dict(type='FormatShape', input_format='NCTHW'))
        if fmt.get('input_format') != 'NCTHW':
            raise ValueError(
                f'{self.config_path}: FormatShape input_format is '
                f'{fmt.get("input_format")!r}; feature extraction supports 3D '
                "recognizers ('NCTHW') only.")
        self.format_shape = TRANSFORMS.build(
            dict(type='FormatShape', input_format='NCTHW'))
        spatial = []
        for step in pipeline:
            step = dict(step)
            if step['type'] in _TEMPORAL_STEPS:
                continue
            if step['type'] in _MULTI_VIEW_CROPS:
                size = step.get('crop_size', 224)
                print_log(f'feature extraction: {step["type"]} replaced by '
                          f'CenterCrop(crop_size={size}) (one view per '
                          'snippet).', logger='current', level=30)
                step = dict(type='CenterCrop', crop_size=size)
            spatial.append(step)
        self.spatial_cfg = spatial
        self.spatial = [TRANSFORMS.build(s) for s in spatial]
        init = next((t for t in pipeline if t['type'] == 'DecordInit'),
                    dict(type='DecordInit'))
        init = dict(init, num_threads=decode_threads)
        self.decode_init = TRANSFORMS.build(init)
        self.decode = TRANSFORMS.build(dict(type='DecordDecode'))
        self.model = self._build_model()
        self.feat_dim: Optional[int] = None

    # ------------------------------------------------------------------
    def _build_model(self) -> torch.nn.Module:
        from mmengine.runner import load_checkpoint

        from mmaction.apis import init_recognizer

        if self.checkpoint is None:
            msg = ('NO CHECKPOINT: the feature extractor is RANDOMLY '
                   f'INITIALISED (seed {self.seed}). Its features carry no '
                   'semantic information: use them for tests only. Pass an '
                   'MMAction2 recognizer checkpoint for real features.')
            warnings.warn(msg, stacklevel=3)
            print_log('!' * 72 + '\n' + msg + '\n' + '!' * 72,
                      logger='current', level=30)
        elif not osp.isfile(self.checkpoint):
            raise FileNotFoundError(
                f'extractor checkpoint {self.checkpoint} does not exist.')
        cpu_state = torch.random.get_rng_state()
        torch.manual_seed(self.seed)
        logger = MMLogger.get_current_instance()
        level = logger.level
        try:
            model = init_recognizer(self.cfg, None, device='cpu')
            if self.checkpoint is None:
                # init_weights logs every parameter at INFO level
                logger.setLevel(logging.WARNING)
                model.init_weights()
        finally:
            logger.setLevel(level)
            torch.random.set_rng_state(cpu_state)
        if self.checkpoint is not None:
            # mmengine's loader: weights_only loading made safe by
            # mmtal_zoom.compat.checkpoint_loading.
            ckpt = load_checkpoint(model, self.checkpoint,
                                   map_location='cpu', strict=False)
            state = ckpt.get('state_dict', ckpt)
            state = {k[7:] if k.startswith('module.') else k: v
                     for k, v in state.items()}
            missing = [k for k in model.state_dict()
                       if k.startswith('backbone.') and k not in state]
            if missing:
                raise KeyError(
                    f'{self.checkpoint} lacks {len(missing)} backbone '
                    f'weights of {self.config_path} (e.g. {missing[:3]}): is '
                    'it a checkpoint of this recognizer config?')
        return model.to(self.device).eval()

    @property
    def random_init(self) -> bool:
        return self.checkpoint is None

    def settings(self) -> dict:
        """What determines the features (stored in the manifest; JSON
        types, so that it compares equal to a manifest read back)."""
        return _json_roundtrip(dict(
            extractor_config=osp.abspath(self.config_path)
            if self.config_path else None,
            checkpoint=osp.abspath(self.checkpoint)
            if self.checkpoint else None,
            random_init=self.random_init,
            seed=self.seed if self.random_init else None,
            feat_stride=self.feat_stride,
            num_frames=self.num_frames,
            clip_len=self.clip_len,
            frame_interval=self.frame_interval,
            fps=self.fps,
            spatial_pipeline=[dict(s) for s in self.spatial_cfg]))

    # ------------------------------------------------------------------
    def open_video(self, path: str) -> dict:
        """Open with ``DecordInit``; returns the transform's results."""
        if not osp.isfile(path):
            raise FileNotFoundError(f'video {path} does not exist.')
        try:
            results = self.decode_init(dict(filename=path))
        except Exception as exc:  # decord raises its own error types
            raise RuntimeError(f'{path}: cannot be decoded by decord '
                               f'({type(exc).__name__}: {exc}).') from exc
        if results['total_frames'] < 1 or not results['avg_fps'] > 0:
            raise RuntimeError(
                f'{path}: decord reports {results["total_frames"]} frames at '
                f'{results["avg_fps"]} fps.')
        return results

    def _decode(self, video: dict, native_inds: np.ndarray) -> List:
        """Decode the given native frames and apply the spatial pipeline."""
        results = dict(video_reader=video['video_reader'],
                       frame_inds=native_inds, total_frames=len(native_inds),
                       start_index=0, modality='RGB')
        results = self.decode(results)
        results.update(num_clips=1, clip_len=len(native_inds))
        for t in self.spatial:
            results = t(results)
        return results['imgs']

    @torch.no_grad()
    def extract(self, path: str, progress: bool = False
                ) -> Tuple[np.ndarray, dict]:
        """Features of one video.

        Returns:
            tuple: ``features`` float32 ``(T, C)`` and ``info`` (``fps`` of
            the snippet grid, ``native_fps``, ``num_video_frames`` at that
            fps, ``duration`` s, ``feat_len`` ``T``).
        """
        from tqdm import tqdm

        video = self.open_video(path)
        native_n, native_fps = int(video['total_frames']), float(
            video['avg_fps'])
        duration = native_n / native_fps
        fps = self.fps or native_fps
        n = native_n if self.fps is None else max(
            1, int(round(duration * fps)))
        T = snippet_count(n, self.feat_stride, self.num_frames)
        inds = snippet_frame_indices(T, self.feat_stride, self.clip_len,
                                     self.frame_interval, n)
        if self.fps is not None:  # grid frame -> nearest native frame
            inds = np.minimum(np.round(inds * native_fps / fps).astype(int),
                              native_n - 1)
        out = []
        starts = range(0, T, self.batch_size)
        for b0 in tqdm(starts, desc=video_name_of(path), unit='batch',
                       leave=False, disable=not progress):
            batch = inds[b0:b0 + self.batch_size]  # (B, clip_len)
            frames, pos = np.unique(batch, return_inverse=True)
            try:
                imgs = self._decode(video, frames)
            except Exception as exc:  # noqa: BLE001  (decord's own types)
                if not _is_decode_error(exc):
                    raise
                raise RuntimeError(
                    f'{path}: decoding frames {frames[0]}-{frames[-1]} '
                    f'failed ({type(exc).__name__}: '
                    f'{" ".join(str(exc).split())[:200]})') from exc
            clips = [imgs[j] for j in pos.reshape(-1)]
            packed = self.format_shape(
                dict(imgs=clips, num_clips=len(batch),
                     clip_len=self.clip_len))['imgs']  # (B, C, t, H, W)
            inputs = [torch.from_numpy(np.ascontiguousarray(c))[None]
                      for c in packed]  # (1, C, t, H, W) per clip
            data = self.model.data_preprocessor(
                dict(inputs=inputs, data_samples=None), False)
            feats, _ = self.model.extract_feat(
                data['inputs'], stage='backbone', test_mode=True)
            out.append(_pool(feats).float().cpu())
        feats = torch.cat(out).numpy()
        if feats.shape[0] != T:
            raise RuntimeError(f'{path}: expected {T} snippets, got '
                               f'{feats.shape[0]} (batch size/backbone '
                               'mismatch).')
        self.feat_dim = int(feats.shape[1])
        info = dict(source=osp.abspath(path), fps=float(fps),
                    native_fps=native_fps, num_video_frames=int(n),
                    duration=float(duration), feat_len=int(T),
                    feat_dim=int(feats.shape[1]))
        return np.ascontiguousarray(feats, dtype=np.float32), info


# ----------------------------------------------------------------------
# folders of videos -> folder of features + manifest
# ----------------------------------------------------------------------
def extract_features(videos: Union[str, Sequence[str]],
                     out_dir: str,
                     extractor: ClipFeatureExtractor,
                     resume: bool = True,
                     overwrite: bool = False,
                     progress: bool = True) -> Tuple[dict, dict]:
    """Extract every video to ``<out_dir>/<video>.npy`` ``(T, C)`` float32
    and keep ``<out_dir>/manifest.json`` up to date.

    Args:
        videos: paths, folders or ``.txt`` lists (:func:`collect_videos`).
        out_dir: output folder.
        extractor: the :class:`ClipFeatureExtractor`.
        resume: skip videos whose features are already complete (listed in
            the manifest with a file of the recorded shape) and current (the
            video's size and mtime unchanged).
        overwrite: re-extract everything and replace a manifest written with
            other settings (otherwise that is an error).
        progress: tqdm progress bars.

    The manifest (JSON): ``version``, the extractor settings
    (``extractor_config``, ``checkpoint``, ``random_init``, ``feat_stride``,
    ``num_frames``, ``clip_len``, ``frame_interval``, ``fps`` (``None``:
    each video's own)), ``feat_dim``, ``snippet_convention`` and ``videos``:
    ``{name: {file, source, fps, native_fps, num_video_frames, duration,
    feat_len, source_size, source_mtime_ns}}`` and ``failed``: ``{name:
    {source, error, source_size, source_mtime_ns}}`` for videos that could
    not be decoded (skipped; the others are extracted; tried again on the
    next run). A video whose size or mtime changed since its extraction is
    extracted again. Every file is written atomically, the manifest after
    each video, so an interrupted run resumes where it stopped.

    Returns:
        tuple: the manifest (dict) and ``dict(extracted=[names],
        skipped=[names], failed=[names])``.
    """
    from tqdm import tqdm

    paths = collect_videos(videos)
    os.makedirs(out_dir, exist_ok=True)
    manifest = load_manifest(out_dir)
    settings = extractor.settings()
    if manifest is not None and not overwrite:
        diff = [k for k in _SETTING_KEYS if manifest.get(k) != settings[k]]
        if diff:
            raise ValueError(
                f'{osp.join(out_dir, MANIFEST_NAME)} was written with other '
                f'extraction settings ({", ".join(diff)}: '
                f'{[manifest.get(k) for k in diff]} vs '
                f'{[settings[k] for k in diff]}); mixing them would give '
                'inconsistent features. Use another output folder, or '
                'overwrite=True / --overwrite to start over.')
    if manifest is None or overwrite:
        manifest = dict(
            version=MANIFEST_VERSION, **settings, feat_dim=None,
            snippet_convention=(
                'snippet i covers frames [i*feat_stride, i*feat_stride + '
                'num_frames) at fps (clip_len frames every frame_interval); '
                'T = max(1, floor((num_video_frames - num_frames) / '
                'feat_stride) + 1); centre of snippet i in seconds = '
                '(i*feat_stride + num_frames/2) / fps '
                '(mmtal_zoom.structures.time_grid)'),
            videos={})
    todo, skipped = [], []
    for p in paths:
        name = video_name_of(p)
        if resume and not overwrite and _is_done(out_dir, name, manifest, p):
            skipped.append(name)
        else:
            todo.append(p)
    if skipped:
        print_log(f'extract_features: {len(skipped)} video(s) already done '
                  f'in {out_dir}, skipped (resume).', logger='current')
    extracted, failed = [], []
    for p in tqdm(todo, desc='videos', unit='video', disable=not progress):
        name = video_name_of(p)
        stamp = source_stamp(p)
        try:
            feats, info = extractor.extract(p, progress=progress)
        except Exception as exc:  # noqa: BLE001  (see _is_decode_error)
            if not _is_decode_error(exc):
                raise
            # one unreadable video must not stop the folder: record it,
            # drop stale features of that name, go on
            reason = ' '.join(str(exc).split())
            print_log(f'extract_features: skipped {p}: {reason}',
                      logger='current', level=logging.WARNING)
            manifest['videos'].pop(name, None)
            manifest.setdefault('failed', {})[name] = dict(
                source=osp.abspath(p), error=reason, **stamp)
            atomic_write_json(manifest, osp.join(out_dir, MANIFEST_NAME))
            failed.append(name)
            continue
        if manifest.get('feat_dim') not in (None, feats.shape[1]):
            raise ValueError(f'{p}: {feats.shape[1]}-d features, but the '
                             f'manifest says {manifest["feat_dim"]}.')
        save_npy_atomic(feats, osp.join(out_dir, name + '.npy'))
        manifest['feat_dim'] = int(feats.shape[1])
        manifest['videos'][name] = dict(file=name + '.npy', **info, **stamp)
        (manifest.get('failed') or {}).pop(name, None)
        atomic_write_json(manifest, osp.join(out_dir, MANIFEST_NAME))
        extracted.append(name)
    return manifest, dict(extracted=extracted, skipped=skipped,
                          failed=failed)
