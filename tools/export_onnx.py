#!/usr/bin/env python
"""Export a localizer's tensor path to ONNX and check it against PyTorch.

    python tools/export_onnx.py CONFIG CHECKPOINT [--out model.onnx] \\
        [--seq-len 2304]

Exported: features (B, C, T) + validity mask (B, T) -> backbone -> neck ->
head forward -> per-level raw outputs (ActionFormerHead: cls_logits_l
(B, K, T_l), reg_offsets_l (B, 2, T_l)) and per-level masks mask_l (B, T_l).
Batch and time axes are dynamic; T must be a multiple of the config's
pad_size_divisor (padding with the model's own data preprocessor does that).

Not exported: decoding, Soft-NMS and the conversion to seconds. They stay in
Python, shared with the PyTorch path: run the file with
``tools/infer.py CONFIG CHECKPOINT INPUT --onnx model.onnx`` or
``mmtal_zoom.apis.inference_localizer(model, x, onnx_session=...)``, which
feed the ONNX outputs to the head's own predict_by_feat.

After export, onnxruntime must match PyTorch to --atol (default 1e-4) at
--seq-len and at a second length (about half of it), which catches shapes
that tracing would have frozen; otherwise the command fails (exit 1).
"""
import os.path as osp
import sys

from mmengine.config import DictAction

import mmtal_zoom  # noqa: F401  (registers modules, applies compat)
from mmtal_zoom.apis.checkpoint import add_trust_args, trust_context
from mmtal_zoom.apis.inference import init_localizer
from mmtal_zoom.apis.onnx_export import DEFAULT_OPSET, export_onnx
from mmtal_zoom.utils.cli import (cli_main, localizer_parser, one_line,
                                  positive_float, positive_int, report_error)


def parse_args(argv=None):
    parser = localizer_parser(__doc__)
    parser.add_argument('--out', default=None,
                        help='output .onnx (default: next to the checkpoint, '
                        'same name)')
    parser.add_argument('--seq-len', type=positive_int, default=None,
                        help='sequence length traced at export (default: the '
                        "data preprocessor's max_seq_len), rounded up to the "
                        'pad divisor')
    parser.add_argument('--verify-len', type=positive_int, nargs='+',
                        default=None,
                        help='lengths at which onnxruntime must match PyTorch '
                        '(default: --seq-len and about half of it)')
    parser.add_argument('--atol', type=positive_float, default=1e-4,
                        help='max absolute difference allowed (default 1e-4)')
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET,
                        help=f'ONNX opset (default {DEFAULT_OPSET})')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, key=value')
    add_trust_args(parser)
    return parser.parse_args(argv)


@cli_main
def main(argv=None) -> int:
    args = parse_args(argv)
    out = args.out or osp.splitext(args.checkpoint)[0] + '.onnx'
    if not out.endswith('.onnx'):
        raise ValueError(f'--out must end in .onnx, got {out}')
    with trust_context(args, args.checkpoint):
        model = init_localizer(args.config, args.checkpoint, 'cpu',
                               cfg_options=args.cfg_options)
    try:
        info = export_onnx(
            model, out, seq_len=args.seq_len, opset_version=args.opset,
            verify_lens=args.verify_len, atol=args.atol,
            extra_meta=dict(config=osp.basename(args.config),
                            checkpoint=osp.basename(args.checkpoint),
                            classes=list(model.dataset_meta['classes']),
                            feat_stride=model.dataset_meta['feat_stride'],
                            num_frames=model.dataset_meta['num_frames']))
    except RuntimeError as exc:
        report_error(one_line(exc))
        return 1
    meta = info['meta']
    print(f'wrote {out}')
    print(f'  inputs : feats (B, {meta["in_channels"]}, T) float32, mask '
          f'(B, T) bool; T a multiple of {meta["pad_size_divisor"]}')
    print(f'  outputs: {", ".join(info["output_names"])}')
    for n, d in info['max_abs_diff'].items():
        print(f'  onnxruntime vs PyTorch at T={n}: max |diff| = {d:.2e} '
              f'(<= {args.atol:g})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
