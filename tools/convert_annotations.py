#!/usr/bin/env python
"""Convert temporal annotations to the standard TAL JSON (thumos14.json's
format, read by TALFeatureDataset)::

    python tools/convert_annotations.py FORMAT INPUT [INPUT ...] --out ann.json

FORMAT:
  anet13         ActivityNet-1.3 JSON ({"database": {id: {"subset",
                 "duration", "annotations": [{"segment", "label"}]}}})
  mmaction-anet  MMAction2's anet_anno_{train,val,test}.json (subset from
                 the file name or --subset; fps = duration_frame /
                 duration_second)
  thumos-txt     THUMOS14 per-class files <Class>_val.txt / <Class>_test.txt
                 (lines "video start end"), or folders of them; subsets
                 Validation / Test; Ambiguous_*.txt skipped unless
                 --include-ambiguous. No durations: use --manifest or
                 --video-dir
  csv            video,start,end,label[,subset,duration,fps], with or
                 without a header; a row with an empty label lists a video
                 without instances
  ego4d-mq       Ego4D Moment Queries moments_{train,val}.json; one entry
                 per clip (clip_uid), clip-relative times, primary labels,
                 fps from the clip's frame range (else 30)
  fineaction     FineAction annotations_gt.json (ActivityNet-style, fps)
  charades       Charades_v1_{train,test}.csv (id, actions, length); labels
                 are the class codes c000..c156
  epic-sounds    EPIC_Sounds_{train,validation}.csv; add
                 EPIC_100_video_info.csv as another input for durations/fps
  epic-kitchens-verb, epic-kitchens-noun
                 EPIC_100_{train,validation}.csv (verb or noun labels), with
                 EPIC_100_video_info.csv as for epic-sounds
  multithumos-txt
                 MultiTHUMOS annotations/<Class>.txt + class_list.txt (or
                 the folder); no durations: use --manifest or --video-dir

Missing durations / fps are taken from --manifest (tools/extract_features.py's
manifest.json), then from the videos in --video-dir (decord), then --fps
(fps only). label_id follows --classes when given, else the source's own
class ids (EPIC formats, MultiTHUMOS), else the labels sorted
alphabetically. The result is checked like tools/validate_dataset.py does for
annotations; exit code 1 if it has errors (the file is written anyway, so you
can inspect it), 2 if the input cannot be converted.
"""
import sys

from mmtal_zoom.datasets.converters import (FORMATS, convert, fill_durations,
                                            read_class_list, to_standard)
from mmtal_zoom.datasets.validation import (ValidationReport,
                                            check_annotations, format_summary)
from mmtal_zoom.utils import atomic_write_json, load_json
from mmtal_zoom.utils.cli import (add_switches, cli_main, doc_parser,
                                  positive_float, report_error)


def parse_args(argv=None):
    parser = doc_parser(__doc__)
    parser.add_argument('format', choices=FORMATS, help='source format')
    parser.add_argument('inputs', nargs='+', help='source file(s) / folder')
    parser.add_argument('--out', required=True, help='output .json')
    parser.add_argument('--manifest', default=None,
                        help='manifest.json of tools/extract_features.py '
                        '(durations and fps per video)')
    parser.add_argument('--video-dir', default=None,
                        help='folder of the videos (<video>.<ext>), read for '
                        'missing durations / fps')
    parser.add_argument('--fps', type=positive_float, default=None,
                        help='fps of videos that have none from any source')
    parser.add_argument('--classes', default=None,
                        help='class names in label_id order: a file (one per '
                        'line) or "A,B,C"')
    parser.add_argument('--subset', default=None,
                        help='subset for sources without one (csv rows '
                        'without a subset column, an mmaction-anet, charades '
                        'or epic-sounds file whose name says none)')
    add_switches(parser, {
        '--include-ambiguous': 'thumos-txt: keep the "Ambiguous" class',
    })
    parser.add_argument('--encoding', default='utf-8',
                        help='text encoding of the input files (default '
                        'utf-8; e.g. latin-1 for files written by older '
                        'tools)')
    parser.add_argument('--dataset-version', default=None,
                        help='"version" field of the output')
    return parser.parse_args(argv)


@cli_main
def main(argv=None) -> int:
    args = parse_args(argv)
    if not args.out.endswith('.json'):
        raise ValueError(f'--out must be a .json file, got {args.out}')
    videos = convert(args.format, args.inputs, subset=args.subset,
                     include_ambiguous=args.include_ambiguous,
                     encoding=args.encoding)
    # a given list, else the source's own class ids (EPIC formats)
    classes = (read_class_list(args.classes) if args.classes else
               getattr(videos, 'classes', None))
    manifest = (load_json(args.manifest, 'manifest')
                if args.manifest else None)
    fill_durations(videos, manifest, args.video_dir, args.fps)
    ann = to_standard(videos, classes,
                      version=args.dataset_version
                      or f'converted from {args.format}')
    atomic_write_json(ann, args.out)
    report = ValidationReport()
    check_annotations(ann['database'], report, classes=classes,
                      where=args.out)
    for p in report.problems:
        print(p)
    n_inst = sum(len(e['annotations']) for e in ann['database'].values())
    print(f'wrote {args.out}: {len(ann["database"])} videos, {n_inst} '
          'instances')
    print(format_summary(report))
    if report.errors:
        report_error(f'{args.out}: {len(report.errors)} error(s), first: '
                     f'{report.errors[0]}; the file was written so that you '
                     'can inspect it: fix the source and convert again')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
