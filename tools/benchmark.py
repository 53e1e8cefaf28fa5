"""Benchmark the models of one or more configs side by side.

Builds each config's model, feeds random features of the config's input
dimension and a given length ``T``, and reports per config (in the order
given) one JSON row with

* ``params``: number of parameters;
* ``gflops``: FLOPs of one pass counted on the executed graph by
  ``torch.utils.flop_counter.FlopCounterMode`` (matrix products,
  convolutions, attention; torch has no formula for FFTs, so this tool adds
  the standard ``2.5 N log2 N`` per real FFT of length ``N`` (``5 N log2 N``
  complex) for ``aten._fft_r2c / _fft_c2r / _fft_c2c``; element-wise ops
  are not counted, as everywhere with FlopCounterMode);
* ``latency_ms``: median wall time of ``--repeats`` passes after
  ``--warmup`` passes (``torch.inference_mode`` unless ``--mode train``);
* ``peak_mem_mb``: extra memory of one pass over the memory held before it.
  CUDA: ``torch.cuda.max_memory_allocated``. CPU: the process's peak
  resident set size (``VmHWM`` of ``/proc/self/status``, reset through
  ``/proc/self/clear_refs``) minus its resident size just before the pass;
  measured on the first pass of a fresh worker process per config
  (``--no-isolate`` measures in this process, where memory kept by the
  allocator from earlier configs can hide some of it).

The measurement code lives in :mod:`mmtal_zoom.utils.benchmark`.

Modes: ``tensor`` (default) runs backbone -> neck -> head forward (the raw
network, no post-processing); ``predict`` adds decoding and NMS; ``train``
is one training step without the optimizer update: forward in loss mode on
random ground truth + backward.

It prints a table with ratios against the first config and, with ``--out``,
writes the rows as a JSON list (atomically).

Example::

    python tools/benchmark.py \\
        configs/baseline/actionformer_synthetic-feat_1xb2-30e_embedded.py \\
        configs/cltdr_gmg/cltdr-gmg_synthetic-feat_1xb2-30e_embedded.py \\
        --seq-len 2304 --repeats 10 --mode train --out work_dirs/bench.json
"""

from mmtal_zoom.utils.benchmark import (FFT_FLOPS, MODES,  # noqa: F401
                                        benchmark_configs, format_table)
from mmtal_zoom.utils.cli import add_switches, doc_parser, write_json_output


def parse_args(argv=None):
    parser = doc_parser(
        __doc__,
        'Params, GFLOPs, latency and peak memory of the models '
        'of one or more configs on random features of length T; ratios '
        'against the first config.')
    parser.add_argument('configs', nargs='+', help='config files')
    parser.add_argument('--seq-len', type=int, default=2304,
                        help='input length T in snippets (default 2304)')
    parser.add_argument('--batch-size', type=int, default=1,
                        help='videos per pass (default 1)')
    parser.add_argument('--repeats', type=int, default=10,
                        help='timed passes; the median is reported')
    parser.add_argument('--warmup', type=int, default=2,
                        help='untimed passes before timing')
    parser.add_argument('--mode', choices=MODES, default='tensor',
                        help='tensor: network forward; predict: + NMS; '
                        'train: loss forward + backward')
    parser.add_argument('--device', default='cpu',
                        help='cpu or cuda[:i] (default cpu)')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch.set_num_threads (default: unchanged)')
    parser.add_argument('--input-dim', type=int, default=None,
                        help='feature dimension C; default from the config '
                        '(backbone / neck / head in_channels)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the random weights and inputs')
    add_switches(parser, {
        '--no-isolate':
            'measure every config in this process instead '
            'of one fresh worker process per config',
    })
    parser.add_argument('--out', default=None,
                        help='write the rows as a JSON list to this file')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    rows = benchmark_configs(
        args.configs, isolate=not args.no_isolate, threads=args.threads,
        seq_len=args.seq_len, batch_size=args.batch_size,
        repeats=args.repeats, warmup=args.warmup, mode=args.mode,
        device=args.device, input_dim=args.input_dim, seed=args.seed)
    print(f'mode={args.mode} T={args.seq_len} batch={args.batch_size} '
          f'device={args.device} threads={rows[0]["threads"]} '
          f'repeats={args.repeats} (median)')
    print(format_table(rows))
    write_json_output(rows, args.out)
    return rows


if __name__ == '__main__':
    main()
