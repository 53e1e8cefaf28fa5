"""Timeline plots of predicted action instances against the ground truth.

MMAction2's ``ActionVisualizer`` draws frames and labels of clips; it has no
notion of segments on a time axis, hence this small matplotlib module.
"""
import io
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..utils import atomic_write_bytes


def _to_numpy(x) -> np.ndarray:
    if x is None:
        return np.zeros((0, ))
    if hasattr(x, 'detach'):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def plot_detection_timelines(videos: Sequence[Dict],
                             out_file: str,
                             class_names: Optional[Sequence[str]] = None,
                             score_thr: float = 0.1,
                             max_preds: int = 20,
                             title: Optional[str] = None) -> str:
    """Draw one row per video: ground truth above, predictions below.

    Args:
        videos: one dict per video with ``video_name``, ``duration`` (s),
            ``gt_segments`` ``(N, 2)`` s, ``gt_labels`` ``(N,)`` (optional),
            ``pred_segments`` ``(K, 2)`` s, ``pred_scores`` ``(K,)``,
            ``pred_labels`` ``(K,)``. Arrays, lists or tensors.
        out_file: PNG path; written atomically, parent folders created.
        class_names: label id -> name, for the legend and annotations.
        score_thr: predictions below this score are not drawn.
        max_preds: at most this many (highest-scoring) predictions per video.
        title: figure title.

    Returns:
        str: ``out_file``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    if not videos:
        raise ValueError('plot_detection_timelines: no videos to plot.')
    cmap = plt.get_cmap('tab20')

    def colour(label):
        # tab20 pairs dark/light shades: use all dark ones first
        label = int(label) % 20
        return cmap((2 * label) % 20 + label // 10)

    def name(label):
        if class_names is not None and 0 <= int(label) < len(class_names):
            return str(class_names[int(label)])
        return f'class {int(label)}'

    fig, axes = plt.subplots(len(videos), 1, squeeze=False,
                             figsize=(12, 1.9 * len(videos) + 0.6))
    used_labels = set()
    for ax, video in zip(axes[:, 0], videos):
        duration = float(video.get('duration') or 0.0)
        gt = _to_numpy(video.get('gt_segments')).reshape(-1, 2)
        gt_labels = _to_numpy(video.get('gt_labels')).reshape(-1)
        segs = _to_numpy(video.get('pred_segments')).reshape(-1, 2)
        scores = _to_numpy(video.get('pred_scores')).reshape(-1)
        labels = _to_numpy(video.get('pred_labels')).reshape(-1)
        keep = np.argsort(-scores)[:max_preds]
        keep = keep[scores[keep] >= score_thr]
        for i, (s, e) in enumerate(gt):
            lab = gt_labels[i] if i < len(gt_labels) else 0
            used_labels.add(int(lab))
            ax.broken_barh([(s, e - s)], (1.1, 0.8), color=colour(lab),
                           edgecolor='black', linewidth=0.6)
        # stack overlapping predictions on sub-rows so each stays visible
        rows_end: List[float] = []
        for k in keep:
            s, e = segs[k]
            row = next((r for r, end in enumerate(rows_end) if end <= s),
                       len(rows_end))
            if row == len(rows_end):
                rows_end.append(e)
            rows_end[row] = e
            height = 0.9 / max(1, min(4, len(keep)))
            y = 0.95 - (row % 4 + 1) * height
            used_labels.add(int(labels[k]))
            ax.broken_barh([(s, e - s)], (y, height * 0.9),
                           color=colour(labels[k]),
                           alpha=float(np.clip(scores[k], 0.25, 1.0)))
            ax.text(s, y + height * 0.45, f'{scores[k]:.2f}', fontsize=6,
                    va='center')
        ax.set_yticks([0.5, 1.5])
        ax.set_yticklabels(['pred', 'GT'])
        ax.set_ylim(0, 2)
        ax.set_xlim(0, duration if duration > 0 else max(
            [1.0] + list(gt.reshape(-1)) + list(segs.reshape(-1))))
        ax.set_title(str(video.get('video_name', '')), fontsize=9, loc='left')
    axes[-1, 0].set_xlabel('time (s)')
    handles = [Patch(color=colour(lab), label=name(lab))
               for lab in sorted(used_labels)]
    if handles:
        fig.legend(handles=handles, loc='upper right', fontsize=7,
                   ncol=min(4, len(handles)))
    if title:
        fig.suptitle(title, fontsize=10, x=0.01, ha='left')
    fig.tight_layout(rect=(0, 0, 1, 0.93 if handles or title else 1))

    buf = io.BytesIO()
    try:
        fig.savefig(buf, format='png', dpi=110)
    finally:
        plt.close(fig)
    atomic_write_bytes(buf.getvalue(), out_file)
    return out_file
