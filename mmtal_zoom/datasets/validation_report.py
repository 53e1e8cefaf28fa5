"""What the dataset checks of :mod:`mmtal_zoom.datasets.validation` report:
one :class:`Problem` per finding in a :class:`ValidationReport`, the errors
that make ``TALFeatureDataset`` refuse the data (:data:`DATASET_ERRORS`,
:func:`raise_on_errors`) and the human-readable summary."""
from dataclasses import dataclass, field
from typing import Dict, List, Optional


@dataclass
class Problem:
    """One finding: ``level`` is ``'error'`` or ``'warning'``; ``code`` a
    short stable identifier (for tests and grep); ``where`` the video or
    file; ``message`` what is wrong and what was expected."""
    level: str
    code: str
    where: str
    message: str

    def __str__(self) -> str:
        return f'{self.level.upper():7s} [{self.code}] {self.where}: ' \
               f'{self.message}'


@dataclass
class ValidationReport:
    """Problems found plus a summary of the dataset."""
    problems: List[Problem] = field(default_factory=list)
    summary: Dict = field(default_factory=dict)

    @property
    def errors(self) -> List[Problem]:
        return [p for p in self.problems if p.level == 'error']

    @property
    def warnings(self) -> List[Problem]:
        return [p for p in self.problems if p.level == 'warning']

    def codes(self, level: Optional[str] = None) -> set:
        return {p.code for p in self.problems
                if level is None or p.level == level}

    def add(self, level: str, code: str, where: str, message: str) -> None:
        self.problems.append(Problem(level, code, where, message))


#: Errors of :func:`check_annotations` that make ``TALFeatureDataset``
#: refuse the file: wrong types, non-finite numbers (NaN / Infinity in
#: segments, fps, duration), reversed segments, missing labels. Other errors
#: (a segment outside the video, a duplicate instance: both occur in the
#: real THUMOS14 annotations) are reported by ``tools/validate_dataset.py``
#: and logged by the dataset, which keeps the data as ActionFormer does.
DATASET_ERRORS = frozenset({
    'bad-entry', 'no-subset', 'bad-duration', 'bad-fps', 'no-fps',
    'bad-annotations', 'bad-annotation', 'bad-segment', 'no-label',
    'bad-label', 'bad-label-id', 'reversed-segment'})


def raise_on_errors(report: 'ValidationReport', codes=DATASET_ERRORS) -> None:
    """Raise ``ValueError`` with the first error of ``codes`` (one line,
    naming file, video and field) and how many more there are."""
    errors = [p for p in report.errors if p.code in codes]
    if not errors:
        return
    first = errors[0]
    more = (f' (and {len(errors) - 1} more error(s): python '
            'tools/validate_dataset.py lists them all)'
            if len(errors) > 1 else '')
    raise ValueError(f'{first.where}: {first.message} [{first.code}]{more}')


def format_summary(report: ValidationReport) -> str:
    """A few human-readable lines about the dataset and the verdict."""
    s = report.summary
    lines = []
    if 'videos_per_subset' in s:
        per_subset = sorted(s['videos_per_subset'].items())
        parts = [f'{k}: {v} videos / {s["instances_per_subset"].get(k, 0)} '
                 'instances' for k, v in per_subset]
        lines.append('subsets    ' + '; '.join(parts))
    if s.get('classes') is not None:
        cl = s['classes']
        lines.append(f'classes    {len(cl)}: {", ".join(cl[:10])}'
                     f'{" ..." if len(cl) > 10 else ""}')
    if 'feat_dim' in s:
        lo, hi = s['feat_len_range']
        lines.append(f'features   {s["videos_checked"]} videos checked, '
                     f'{s["feat_dim"]}-d, T from {lo} to {hi} (feat_stride='
                     f'{s["feat_stride"]}, num_frames={s["num_frames"]})')
    verdict = ('OK' if not report.errors else 'FAILED')
    lines.append(f'result     {verdict}: {len(report.errors)} error(s), '
                 f'{len(report.warnings)} warning(s)')
    return '\n'.join(lines)
