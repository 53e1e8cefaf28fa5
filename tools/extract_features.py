#!/usr/bin/env python
"""Extract snippet features from raw videos with an MMAction2 recognizer.

One ``<video>.npy`` of shape ``(T, C)`` (float32) per video, plus
``manifest.json`` (fps, feat_stride, num_frames, feature dim, extractor
config and checkpoint, per-video T and duration) from which a dataset config
follows::

    python tools/extract_features.py EXTRACTOR_CONFIG VIDEOS [VIDEOS ...] \\
        --checkpoint EXTRACTOR.pth --out-dir data/my_videos/features

VIDEOS are video files, folders of videos, or .txt lists of paths. Snippet i
is ``clip_len`` frames taken every ``frame_interval`` frames from frame
``i * feat_stride``; it spans ``num_frames = clip_len * frame_interval``
frames, and ``T = max(1, floor((frames - num_frames) / feat_stride) + 1)``
(see mmtal_zoom/apis/feature_extraction.py and docs/custom_dataset.md).

Without --checkpoint the recognizer is RANDOMLY INITIALISED (for tests): its
features mean nothing. Real extractors: any MMAction2 3D recognizer config
with its model-zoo checkpoint (I3D, SlowOnly, SlowFast, X3D, VideoMAE...).
Finished videos are skipped when the command is run again (resume), unless
the video's size or mtime changed since; every file is written atomically.
A video that cannot be decoded is skipped and recorded under "failed" in
manifest.json; the others are extracted, and the command exits 2 at the end
naming it.
"""
import sys
import textwrap

import mmtal_zoom  # noqa: F401  (registers modules, applies compat)
from mmtal_zoom.apis.checkpoint import add_trust_args, trust_context
from mmtal_zoom.apis.feature_extraction import (ClipFeatureExtractor,
                                                collect_videos,
                                                dataset_settings_from_manifest,
                                                extract_features)
from mmtal_zoom.utils.cli import (add_switches, cli_main, doc_parser,
                                  positive_float, positive_int, report_error)


def parse_args(argv=None):
    parser = doc_parser(__doc__)
    parser.add_argument('config', help='MMAction2 recognizer config (3D, '
                        "FormatShape input_format='NCTHW')")
    parser.add_argument('videos', nargs='+',
                        help='video files, folders of videos, or .txt lists')
    parser.add_argument('--checkpoint', default=None,
                        help='recognizer weights (.pth). Omitted: random '
                        'initialisation, features for tests only')
    parser.add_argument('--out-dir', required=True,
                        help='output folder for <video>.npy + manifest.json')
    parser.add_argument('--feat-stride', type=positive_int, default=4,
                        help='frames between consecutive snippets '
                        '(default 4, THUMOS14 convention)')
    parser.add_argument('--clip-len', type=positive_int, default=None,
                        help='frames per clip (default: SampleFrames.clip_len '
                        'of the config)')
    parser.add_argument('--frame-interval', type=positive_int,
                        default=None,
                        help='step between a clip\'s frames (default: the '
                        'config\'s SampleFrames.frame_interval)')
    parser.add_argument('--fps', type=positive_float, default=None,
                        help='resample videos to this frame rate first '
                        '(default: each video\'s own)')
    parser.add_argument('--batch-size', type=positive_int, default=16,
                        help='clips per forward pass (default 16)')
    parser.add_argument('--device', default='cpu',
                        help="'cpu' (default), 'cuda' or 'cuda:N'")
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the random initialisation when no '
                        'checkpoint is given')
    parser.add_argument('--decode-threads', type=positive_int, default=1,
                        help='decord decoding threads')
    add_switches(parser, {
        '--no-resume': 're-extract videos that are already done',
        '--overwrite':
            'start over even if the folder holds features '
            'extracted with other settings',
        '--no-progress': 'no progress bars',
    })
    add_trust_args(parser, 'the --checkpoint file')
    return parser.parse_args(argv)


@cli_main
def main(argv=None) -> int:
    args = parse_args(argv)
    videos = collect_videos(args.videos)
    with trust_context(args, args.checkpoint):
        extractor = ClipFeatureExtractor(
            args.config, args.checkpoint, device=args.device,
            feat_stride=args.feat_stride, clip_len=args.clip_len,
            frame_interval=args.frame_interval, fps=args.fps,
            batch_size=args.batch_size, seed=args.seed,
            decode_threads=args.decode_threads)
    manifest, done = extract_features(
        videos, args.out_dir, extractor, resume=not args.no_resume,
        overwrite=args.overwrite, progress=not args.no_progress)
    ds = dataset_settings_from_manifest(manifest)
    print(f'{len(done["extracted"])} video(s) extracted, '
          f'{len(done["skipped"])} already done (skipped), '
          f'{len(done["failed"])} failed -> {args.out_dir}')
    for name in sorted(manifest['videos']):
        v = manifest['videos'][name]
        if name in done['extracted'] or name in done['skipped']:
            print(f'  {name:30s} T={v["feat_len"]:5d}  '
                  f'{v["duration"]:8.2f} s  {v["fps"]:.3f} fps')
    fps_note = ('  # videos differ: each annotation entry needs its own fps '
                '(convert_annotations.py --manifest writes it)'
                if ds['default_fps'] is None else '')
    print(textwrap.dedent(f"""
        Dataset settings for these features (TALFeatureDataset / model):
            feat_stride = {ds['feat_stride']}
            num_frames = {ds['num_frames']}
            default_fps = {ds['default_fps']}{fps_note}
            in_channels = {ds['feat_dim']}  # model.backbone.in_channels"""))
    if extractor.random_init:
        print('\nWARNING: no --checkpoint: these features come from a '
              'RANDOMLY INITIALISED recognizer and carry no semantic '
              'information (tests and demos only).')
    if done['failed']:
        failed = manifest.get('failed', {})
        listed = '; '.join(f'{failed[n]["source"]} ({failed[n]["error"]})'
                           for n in done['failed'])
        return report_error(
            f'{len(done["failed"])} video(s) could not be decoded and have '
            f'no features (listed under "failed" in {args.out_dir}/'
            f'manifest.json; the others were extracted): {listed}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
