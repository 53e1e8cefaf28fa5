"""ONNX export of a TALDetector's tensor path, and the shared post-processing.

What is exported: ``TALDetector``'s ``mode='tensor'`` path -- features
``(B, C, T)`` + validity mask ``(B, T)`` -> backbone -> neck -> head
``forward`` -> the head's raw per-level outputs (for ``ActionFormerHead``:
``cls_logits_l`` ``(B, K, T_l)`` and ``reg_offsets_l`` ``(B, 2, T_l)``), plus
the per-level masks ``mask_l`` ``(B, T_l)`` that post-processing needs. The
time axis is dynamic; ``T`` must be a multiple of the data preprocessor's
``pad_size_divisor`` (so every pyramid level divides it), which
:func:`onnx_predict` guarantees by padding with the model's own data
preprocessor.

What is not exported: decoding, score filtering, (Soft-)NMS and grid ->
seconds. They stay in Python and are the head's own ``predict_by_feat``
(pure torch, no compiled ops), fed with the ONNX outputs: one
post-processing for both backends.

Exporter: torch's TorchScript-based exporter (``dynamo=False``). The
``torch.export``-based default of torch >= 2.9 needs the ``onnxscript``
package, which the pinned stack does not have. Tracing records Python
branches on shapes as constants, so :func:`export_onnx` checks the exported
graph against PyTorch at two sequence lengths before returning.
"""
import json
import os.path as osp
import shutil
import tempfile
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor, nn

ONNX_META_KEY = 'mmtal_zoom'
DEFAULT_OPSET = 17


class TALTensorPath(nn.Module):
    """``(feats (B, C, T), mask (B, T))`` -> flat tuple of the head's
    per-level outputs, then the per-level masks (the graph that is
    exported). Composition of the detector's own ``extract_feat`` and
    ``head.forward``; nothing else."""

    def __init__(self, detector: nn.Module):
        super().__init__()
        self.detector = detector
        self.structure: Optional[List[Optional[int]]] = None

    def forward(self, feats: Tensor, mask: Tensor) -> Tuple[Tensor, ...]:
        level_feats, level_masks = self.detector.extract_feat(feats, mask)
        outs = self.detector.head(level_feats, level_masks)
        flat, structure = [], []
        for group in outs:
            if isinstance(group, (list, tuple)):
                flat.extend(group)
                structure.append(len(group))
            else:
                flat.append(group)
                structure.append(None)
        self.structure = structure
        return tuple(flat) + tuple(level_masks)


def _group_names(head: nn.Module, num_groups: int) -> List[str]:
    names = getattr(head, 'output_names', None)
    if names is not None and len(names) == num_groups:
        return list(names)
    from mmtal_zoom.models.heads.actionformer_head import ActionFormerHead
    if isinstance(head, ActionFormerHead) and num_groups == 2:
        return ['cls_logits', 'reg_offsets']
    return [f'out{g}' for g in range(num_groups)]


def _pad_divisor(model: nn.Module) -> int:
    return int(getattr(model.data_preprocessor, 'pad_size_divisor', 1) or 1)


def _random_inputs(model: nn.Module, in_channels: int, seq_len: int,
                   seed: int) -> Tuple[Tensor, Tensor]:
    """Non-negative random features (like post-ReLU video features) with
    the last ~20% of the sequence padded."""
    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    feats = torch.rand(1, in_channels, seq_len, generator=gen).to(device)
    valid = max(1, int(round(seq_len * 0.8)))
    mask = (torch.arange(seq_len) < valid)[None].to(device)
    return feats * mask[:, None], mask


def _in_channels(model: nn.Module) -> int:
    for module in (getattr(model, 'backbone', None),
                   getattr(model, 'neck', None),
                   getattr(model, 'head', None)):
        if module is not None and hasattr(module, 'in_channels'):
            return int(module.in_channels)
    raise ValueError('cannot tell the input channels of the model: pass '
                     'in_channels')


def onnx_outputs_to_torch(outputs: Sequence[np.ndarray], structure,
                          device: torch.device
                          ) -> Tuple[Tuple, Tuple[Tensor, ...]]:
    """Rebuild ``(head outputs as forward() returns them, level masks)``
    from the flat list of ONNX outputs."""
    tensors = [torch.from_numpy(np.asarray(o)).to(device) for o in outputs]
    groups, i = [], 0
    for n in structure:
        if n is None:
            groups.append(tensors[i])
            i += 1
        else:
            groups.append(list(tensors[i:i + n]))
            i += n
    masks = tuple(t.bool() for t in tensors[i:])
    return tuple(groups), masks


def read_onnx_meta(session_or_model: Any) -> Dict:
    """The mmtal_zoom metadata stored in an exported model."""
    if hasattr(session_or_model, 'get_modelmeta'):
        props = session_or_model.get_modelmeta().custom_metadata_map
        raw = props.get(ONNX_META_KEY)
    else:
        raw = next((p.value for p in session_or_model.metadata_props
                    if p.key == ONNX_META_KEY), None)
    if raw is None:
        raise ValueError('this ONNX model was not written by mmtal_zoom '
                         f'(no "{ONNX_META_KEY}" metadata).')
    return json.loads(raw)


def onnx_forward(session: Any, feats: Tensor, masks: Tensor
                 ) -> Tuple[Tuple, Tuple[Tensor, ...]]:
    """Run the exported tensor path: ``(B, C, T)`` features and ``(B, T)``
    masks (``T`` a multiple of the pad divisor) -> head outputs and level
    masks as torch tensors on ``feats``' device."""
    meta = read_onnx_meta(session)
    div = int(meta['pad_size_divisor'])
    if feats.shape[-1] % div:
        raise ValueError(f'the ONNX model needs T to be a multiple of {div}, '
                         f'got {feats.shape[-1]} (pad with the model\'s data '
                         'preprocessor).')
    outputs = session.run(None, {
        'feats': feats.detach().float().cpu().numpy(),
        'mask': masks.detach().bool().cpu().numpy()
    })
    return onnx_outputs_to_torch(outputs, meta['structure'], feats.device)


def onnx_predict(session: Any, model: nn.Module, feats: Tensor,
                 masks: Tensor, data_samples: Sequence) -> List:
    """ONNX tensor path + the head's own ``predict_by_feat`` (decoding,
    Soft-NMS, seconds): the post-processing shared by both backends.

    Args:
        session: ``onnxruntime.InferenceSession`` of :func:`export_onnx`'s
            file.
        model: the same detector built in PyTorch (its head's post-processing
            and test_cfg are used; its weights are not).
        feats, masks: the data preprocessor's ``inputs`` ``(B, C, T)`` and
            ``masks`` ``(B, T)``.
        data_samples: with the metainfo ``PackTALInputs`` sets.

    Returns:
        list[InstanceData]: one per sample, like ``head.predict``.
    """
    outs, level_masks = onnx_forward(session, feats, masks)
    return model.head.predict_by_feat(
        *outs, masks=level_masks, data_samples=data_samples)


def compare_with_pytorch(session: Any, model: nn.Module, seq_len: int,
                         in_channels: Optional[int] = None,
                         seed: int = 0) -> float:
    """Max absolute difference between onnxruntime and PyTorch outputs on
    random features of length ``seq_len`` (masks must agree exactly)."""
    in_channels = in_channels or _in_channels(model)
    feats, mask = _random_inputs(model, in_channels, seq_len, seed)
    wrapper = TALTensorPath(model).eval()
    with torch.no_grad():
        ref = wrapper(feats, mask)
    outs = session.run(None, {'feats': feats.cpu().numpy(),
                              'mask': mask.cpu().numpy()})
    if len(outs) != len(ref):
        raise RuntimeError(f'ONNX model has {len(outs)} outputs, PyTorch '
                           f'{len(ref)}')
    worst = 0.0
    for o, r in zip(outs, ref):
        r = r.detach().cpu().numpy()
        if o.shape != r.shape:
            raise RuntimeError(f'output shape {o.shape} != PyTorch '
                               f'{r.shape} at seq_len={seq_len}')
        if r.dtype == np.bool_:
            if not np.array_equal(o.astype(bool), r):
                raise RuntimeError(f'masks differ at seq_len={seq_len}')
            continue
        worst = max(worst, float(np.abs(o.astype(np.float64) -
                                        r.astype(np.float64)).max()))
    return worst


def export_onnx(model: nn.Module,
                out_file: str,
                seq_len: Optional[int] = None,
                in_channels: Optional[int] = None,
                opset_version: int = DEFAULT_OPSET,
                verify_lens: Optional[Sequence[int]] = None,
                atol: float = 1e-4,
                extra_meta: Optional[dict] = None) -> dict:
    """Export ``model``'s tensor path to ``out_file`` and verify it.

    Args:
        model: a ``TALDetector`` (eval mode is set here).
        out_file: ``.onnx`` path (written through a temporary file).
        seq_len: length traced at export; default the data preprocessor's
            ``max_seq_len`` (else 2304), rounded up to its
            ``pad_size_divisor``. Long enough that every level uses the same
            code path as at inference (e.g. local rather than global
            attention).
        in_channels: feature channels ``C``; default the backbone's.
        opset_version: ONNX opset. Default 17.
        verify_lens: sequence lengths at which onnxruntime must match
            PyTorch; default ``seq_len`` and about half of it (a multiple of
            the pad divisor), so a shape frozen by tracing is caught.
        atol: tolerance of that check (max absolute difference).
        extra_meta: more metadata to store (e.g. config path, classes).

    Returns:
        dict: ``out_file``, ``output_names``, ``max_abs_diff`` per verified
        length, and the stored metadata.

    Raises:
        RuntimeError: an operator of the model has no ONNX export, or
            onnxruntime and PyTorch disagree beyond ``atol``.
    """
    import onnx
    import onnxruntime as ort
    from torch.jit import TracerWarning

    from ..utils import atomic_write_bytes

    model = model.eval()
    div = _pad_divisor(model)
    if seq_len is None:
        seq_len = getattr(model.data_preprocessor, 'max_seq_len',
                          None) or 2304
    seq_len = int(np.ceil(seq_len / div) * div)
    in_channels = in_channels or _in_channels(model)
    wrapper = TALTensorPath(model).eval()
    feats, mask = _random_inputs(model, in_channels, seq_len, seed=0)
    with torch.no_grad():
        ref = wrapper(feats, mask)
    structure = wrapper.structure
    num_levels = len(ref) - sum(1 if n is None else n for n in structure)
    groups = _group_names(model.head, len(structure))
    out_names = []
    for name, n in zip(groups, structure):
        out_names += [name] if n is None else [f'{name}_{lvl}'
                                               for lvl in range(n)]
    out_names += [f'mask_{lvl}' for lvl in range(num_levels)]
    dynamic_axes = {'feats': {0: 'batch', 2: 'time'},
                    'mask': {0: 'batch', 1: 'time'}}
    for name, r in zip(out_names, ref):
        dynamic_axes[name] = {0: 'batch', r.dim() - 1: f'time_{name}'}

    # traced into a private folder: nothing half-written beside out_file
    tmp_dir = tempfile.mkdtemp(prefix='mmtal_onnx_')
    tmp = osp.join(tmp_dir, 'model.onnx')
    try:
        with warnings.catch_warnings():
            # Tracer warnings are about Python branches on shapes; the check
            # below at two lengths is what tells whether any of them matters.
            warnings.simplefilter('ignore', TracerWarning)
            warnings.filterwarnings('ignore', message='.*legacy TorchScript.*')
            try:
                torch.onnx.export(
                    wrapper, (feats, mask), tmp, dynamo=False,
                    input_names=['feats', 'mask'], output_names=out_names,
                    dynamic_axes=dynamic_axes, opset_version=opset_version,
                    do_constant_folding=True)
            except torch.onnx.errors.OnnxExporterError as exc:
                first = str(exc).strip().splitlines()[0]
                parts = ' / '.join(
                    type(m).__name__
                    for m in (getattr(model, 'backbone', None),
                              getattr(model, 'neck', None), model.head)
                    if m is not None)
                raise RuntimeError(
                    f'{type(model).__name__} ({parts}) cannot be exported to '
                    f'ONNX opset {opset_version}: {first}. (Known: the FFT '
                    'global filter of GMGNeck, torch.fft, has no ONNX export '
                    'in the TorchScript-based exporter.)') from exc
        proto = onnx.load(tmp)
        onnx.checker.check_model(proto)
        meta = dict(structure=structure, output_names=out_names,
                    num_levels=num_levels, pad_size_divisor=div,
                    in_channels=in_channels, export_seq_len=seq_len,
                    **(extra_meta or {}))
        entry = proto.metadata_props.add()
        entry.key, entry.value = ONNX_META_KEY, json.dumps(meta)
        model_bytes = proto.SerializeToString()
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)

    # Verified in memory first: a model that fails the check is never
    # written (and an older good file at out_file survives).
    session = ort.InferenceSession(model_bytes,
                                   providers=['CPUExecutionProvider'])
    if verify_lens is None:
        half = max(div, int(np.ceil(seq_len / 2 / div) * div))
        verify_lens = [seq_len] + ([half] if half != seq_len else
                                   [seq_len + div])
    diffs = {}
    for n in verify_lens:
        if n % div:
            raise ValueError(f'verify length {n} is not a multiple of the '
                             f'pad divisor {div}')
        diffs[int(n)] = compare_with_pytorch(session, model, int(n),
                                             in_channels, seed=int(n))
        if diffs[int(n)] > atol:
            raise RuntimeError(
                f'{out_file}: onnxruntime differs from PyTorch by '
                f'{diffs[int(n)]:.3g} (> {atol:g}) at T={n}; the traced '
                'graph does not generalise to this length.')
    atomic_write_bytes(model_bytes, out_file)
    return dict(out_file=out_file, output_names=out_names,
                max_abs_diff=diffs, meta=meta)


def load_onnx_session(path: str, device: str = 'cpu') -> Any:
    """An onnxruntime session (CUDA provider when ``device`` is cuda and
    available)."""
    import onnxruntime as ort
    if not osp.isfile(path):
        raise FileNotFoundError(f'ONNX model {path} does not exist.')
    providers = ['CPUExecutionProvider']
    if str(device).startswith('cuda') and 'CUDAExecutionProvider' in \
            ort.get_available_providers():
        providers.insert(0, 'CUDAExecutionProvider')
    session = ort.InferenceSession(path, providers=providers)
    read_onnx_meta(session)  # clear error for foreign models
    return session


__all__ = [
    'TALTensorPath', 'export_onnx', 'load_onnx_session', 'onnx_forward',
    'onnx_predict', 'compare_with_pytorch', 'read_onnx_meta'
]
