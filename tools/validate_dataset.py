#!/usr/bin/env python
"""Check a custom TAL dataset before training on it.

    python tools/validate_dataset.py ANNOTATION.json FEATURE_DIR \\
        [--feat-stride 4 --num-frames 16 --fps 30 --subset train val]

Prints one line per problem, then a summary; exit code 1 when there are
errors (or warnings with --strict), with a last line on stderr naming the
first one; 0 otherwise. Checked:

  * the annotation file: JSON (UTF-8, no video key given twice),
    "database", per video "subset", "duration"
    (> 0), "fps" (> 0; --fps for entries without);
  * annotations: segments reversed, of zero length, outside the video or
    partly beyond it; missing/invalid labels; a label with several label_ids
    or a label_id naming several labels; labels outside --classes; duplicate
    instances; requested subsets that are missing; subsets without instances;
  * features: a missing file for a video, files no video refers to, arrays
    that are not (T, C), feature dims that differ between videos, NaN/Inf,
    and T against the duration: T should be about
    (duration * fps - num_frames) / feat_stride + 1 (an error beyond the
    tolerance that LoadTALFeatures applies, a warning beyond 15%).

feat_stride / num_frames default to FEATURE_DIR/manifest.json (written by
tools/extract_features.py), else 4 / 16 (the THUMOS14 I3D convention).
"""
import sys

from mmtal_zoom.datasets.converters import read_class_list
from mmtal_zoom.datasets.validation import format_summary, validate_tal_dataset
from mmtal_zoom.utils.cli import (add_switches, cli_main, doc_parser,
                                  positive_float, positive_int, report_error)


def parse_args(argv=None):
    parser = doc_parser(__doc__)
    parser.add_argument('ann_file', metavar='ANNOTATION.json',
                        help='standard TAL annotation JSON')
    parser.add_argument('feature_dir', metavar='FEATURE_DIR', nargs='?',
                        help='folder of <video>.npy / .pt (T, C) files; '
                        'omitted: check the annotations only')
    parser.add_argument('--feat-stride', type=positive_int, default=None,
                        help='frames between snippets (default: manifest, '
                        'else 4)')
    parser.add_argument('--num-frames', type=positive_int, default=None,
                        help='frames per snippet (default: manifest, else '
                        '16)')
    parser.add_argument('--fps', type=positive_float, default=None,
                        help='fps of entries without one (default: manifest, '
                        'else 30)')
    parser.add_argument('--subset', nargs='+', default=None,
                        help='check only these subsets (each must exist)')
    parser.add_argument('--classes', default=None,
                        help='class list: a file (one name per line, in '
                        'label_id order) or "A,B,C"; labels outside it are '
                        'errors')
    parser.add_argument('--length-tolerance', type=positive_float,
                        default=0.3,
                        help='relative tolerance on T (default 0.3, as '
                        'LoadTALFeatures)')
    add_switches(parser, {
        '--strict': 'exit 1 on warnings too',
    })
    parser.add_argument('--max-lines', type=positive_int, default=200,
                        help='print at most this many problems (default 200)')
    return parser.parse_args(argv)


@cli_main
def main(argv=None) -> int:
    args = parse_args(argv)
    classes = read_class_list(args.classes) if args.classes else None
    report = validate_tal_dataset(
        args.ann_file, args.feature_dir, feat_stride=args.feat_stride,
        num_frames=args.num_frames, default_fps=args.fps,
        subsets=args.subset, classes=classes,
        length_tolerance=args.length_tolerance)
    problems = sorted(report.problems, key=lambda p: p.level != 'error')
    for p in problems[:args.max_lines]:
        print(p)
    if len(problems) > args.max_lines:
        print(f'... and {len(problems) - args.max_lines} more')
    if problems:
        print()
    print(format_summary(report))
    failed = bool(report.errors) or (args.strict and report.warnings)
    if failed:
        first = problems[0]
        report_error(f'{args.ann_file}: {len(report.errors)} error(s), '
                     f'{len(report.warnings)} warning(s); first: {first}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
