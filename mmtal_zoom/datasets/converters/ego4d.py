"""The ``ego4d-mq`` source: Ego4D Moment Queries ``moments_<split>.json``,
one entry per clip."""
from ._common import (ConversionError, Videos, _field, _read_json_member,
                      _segment)


def from_ego4d_mq(path: str, encoding: str = 'utf-8') -> Videos:
    """Ego4D Moment Queries annotations (``moments_<split>.json``)."""
    vids = _read_json_member(path, encoding, 'videos', list,
                             'Ego4D\'s moments JSON with a "videos" list')
    videos: Videos = {}
    for i, video in enumerate(vids):
        vwhere = f'{path}: videos[{i}]'
        split = _field(video, 'split', vwhere, str)
        for j, clip in enumerate(_field(video, 'clips', vwhere, list)):
            where = f'{vwhere}.clips[{j}]'
            uid = _field(clip, 'clip_uid', where, str)
            where = f'{path}: clip "{uid}"'
            start = _field(clip, 'video_start_sec', where)
            end = _field(clip, 'video_end_sec', where)
            if not end > start:
                raise ConversionError(f'{where}: "video_end_sec" {end} is '
                                      f'not after "video_start_sec" {start}.')
            if uid in videos:
                raise ConversionError(f'{where}: clip listed twice.')
            seen, instances = set(), []
            for k, ann in enumerate(clip.get('annotations') or []):
                for m, lab in enumerate(_field(ann, 'labels',
                                               f'{where} annotations[{k}]',
                                               list)):
                    lwhere = f'{where} annotations[{k}].labels[{m}]'
                    label = _field(lab, 'label', lwhere, str)
                    if lab.get('primary') is False:
                        continue  # the benchmark scores primary labels
                    s, e = _segment([_field(lab, 'start_time', lwhere),
                                     _field(lab, 'end_time', lwhere)],
                                    lwhere)
                    if (label, s, e) not in seen:
                        seen.add((label, s, e))
                        instances.append((label, s, e))
            fps = 30.0  # the canonical videos
            frames = [clip.get(k) for k in ('video_start_frame',
                                            'video_end_frame')]
            if all(isinstance(f, int) and not isinstance(f, bool)
                   for f in frames) and frames[1] > frames[0]:
                fps = round((frames[1] - frames[0]) / (end - start), 6)
            videos[uid] = dict(subset=split, duration=float(end - start),
                               fps=fps, instances=instances)
    return videos
