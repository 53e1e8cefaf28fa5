"""RCL's scale-invariant sampling of segment queries (RCL paper, Sec. 3.3)."""
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from mmaction.registry import TASK_UTILS


def apply_min_length(segments: Tensor, min_length: Union[float, Tensor]
                     ) -> Tensor:
    """Order, clip to ``[0, 1]`` and floor the length of segments.

    A segment shorter than ``min_length`` is widened about its centre to
    ``min_length`` and shifted back inside ``[0, 1]`` (RCL's SPF floor: no
    output shorter than one frame).

    Args:
        segments (Tensor): ``(..., 2)`` normalised.
        min_length (float | Tensor): scalar, or a tensor broadcastable to
            ``segments[..., 0]`` (e.g. ``(B, 1)`` for per-video floors).

    Returns:
        Tensor: ``(..., 2)`` with ``0 <= start``, ``end <= 1`` and
        ``end - start >= min(min_length, 1)``.
    """
    start = torch.minimum(segments[..., 0], segments[..., 1]).clamp(0, 1)
    end = torch.maximum(segments[..., 0], segments[..., 1]).clamp(0, 1)
    min_len = torch.as_tensor(min_length, dtype=segments.dtype,
                              device=segments.device).clamp(0, 1)
    centre = (start + end) / 2
    half = torch.maximum(end - start, min_len.expand_as(start)) / 2
    start = centre - half
    end = centre + half
    shift = (-start).clamp(min=0) - (end - 1).clamp(min=0)
    return torch.stack([start + shift, end + shift], dim=-1).clamp(0, 1)


@TASK_UTILS.register_module()
class RCLSampler:
    """Segment queries ``(x_s, x_e)`` that train RCL's continuous anchoring
    representation (RCL, Sec. 3.3, Fig. 5c).

    Coordinates are normalised to ``[0, 1]`` over the feature sequence, the
    convention of MMAction2's BMN (``gt_bbox`` from
    ``GenerateLocalizationLabels``); ``num_grid`` is BMN's ``temporal_dim``
    ``T_s``. Three kinds of samples:

    1. **regular grid** (Fig. 5c "x"): BMN's boundary-matching grid,
       ``[i / T_s, (i + j) / T_s]`` for ``0 <= i < T_s``, ``1 <= j <= T_s -
       i``: ``T_s (T_s + 1) / 2`` segments. With these alone the continuous
       representation degenerates to BMN's grid (Table 5, first row).
    2. **random** (Fig. 5c "+"): grid segments jittered by
       ``U(-jitter / 2, jitter / 2) / T_s`` on each boundary, ``num_random``
       of them (default ``T_s (T_s + 1) / 2``, one per grid sample).
    3. **scale-invariant**: ``num_per_gt`` samples around every ground truth
       ``(g_s, g_e)`` of length ``l``, each boundary drawn from
       ``N(g, (gt_std_ratio * l)^2)``: the spread scales with the length, so
       the tIoU distribution of the samples around a ground truth is the
       same for a short and a long action (the balance the paper argues for;
       the paper says "taking its length l as the variance", we read it as a
       spread proportional to ``l``, which is what makes it scale-invariant).

    Every sample is ordered, clipped to ``[0, 1]`` and floored to
    ``min_length`` (the paper's SPF: seconds per frame; in normalised units
    one frame is ``1 / feature_frame``), given per call or here as default.

    Args:
        num_grid (int): ``T_s``.
        use_grid (bool): include the regular grid samples.
        use_random (bool): include the random samples.
        use_gt (bool): include the scale-invariant samples.
        num_random (int, optional): number of random samples; ``None``:
            ``T_s (T_s + 1) / 2``.
        jitter (float): width of the uniform jitter, in grid cells.
        num_per_gt (int): ``n``, samples per ground truth.
        gt_std_ratio (float): boundary standard deviation / gt length.
        min_length (float): default SPF floor (normalised).
    """

    def __init__(self,
                 num_grid: int = 100,
                 use_grid: bool = True,
                 use_random: bool = True,
                 use_gt: bool = True,
                 num_random: Optional[int] = None,
                 jitter: float = 1.0,
                 num_per_gt: int = 128,
                 gt_std_ratio: float = 0.25,
                 min_length: float = 0.0):
        if num_grid < 1:
            raise ValueError(f'num_grid must be >= 1, got {num_grid}')
        if not (use_grid or use_random or use_gt):
            raise ValueError('RCLSampler needs at least one kind of sample '
                             '(use_grid, use_random or use_gt)')
        self.num_grid = int(num_grid)
        self.use_grid = use_grid
        self.use_random = use_random
        self.use_gt = use_gt
        self.num_grid_samples = self.num_grid * (self.num_grid + 1) // 2
        self.num_random = (self.num_grid_samples if num_random is None else
                           int(num_random))
        self.jitter = float(jitter)
        self.num_per_gt = int(num_per_gt)
        self.gt_std_ratio = float(gt_std_ratio)
        self.min_length = float(min_length)

    def grid_queries(self, device: Union[str, torch.device] = 'cpu',
                     dtype: torch.dtype = torch.float32) -> Tensor:
        """BMN's grid of segments, ``(T_s (T_s + 1) / 2, 2)``, ordered by
        start then length."""
        t = self.num_grid
        i, j = torch.meshgrid(
            torch.arange(t, device=device), torch.arange(1, t + 1,
                                                         device=device),
            indexing='ij')
        keep = i + j <= t
        return torch.stack([i[keep], (i + j)[keep]], dim=-1).to(dtype) / t

    def random_samples(self, num: int, device, dtype=torch.float32,
                       generator: Optional[torch.Generator] = None) -> Tensor:
        """``(num, 2)`` grid segments jittered by ``U(-jitter/2, jitter/2)``
        cells on each boundary (unclipped, unordered)."""
        grid = self.grid_queries(device, dtype)
        if num == grid.shape[0]:
            base = grid
        else:
            idx = torch.randint(grid.shape[0], (num, ), device=device,
                                generator=generator)
            base = grid[idx]
        noise = torch.rand(base.shape, device=device, dtype=dtype,
                           generator=generator) - 0.5
        return base + noise * self.jitter / self.num_grid

    def gt_samples(self, gt_segments: Tensor,
                   generator: Optional[torch.Generator] = None) -> Tensor:
        """``(N * num_per_gt, 2)`` scale-invariant samples (unclipped)."""
        n = gt_segments.shape[0]
        if n == 0 or self.num_per_gt == 0:
            return gt_segments.new_zeros(0, 2)
        length = (gt_segments[:, 1] - gt_segments[:, 0]).clamp(min=0)
        noise = torch.randn((n, self.num_per_gt, 2), device=gt_segments.device,
                            dtype=gt_segments.dtype, generator=generator)
        std = (self.gt_std_ratio * length)[:, None, None]
        return (gt_segments[:, None, :] + noise * std).reshape(-1, 2)

    def sample(self,
               gt_segments: Tensor,
               min_length: Optional[float] = None,
               generator: Optional[torch.Generator] = None,
               return_kinds: bool = False
               ) -> Union[Tensor, Dict[str, Tensor]]:
        """Training queries of one video.

        Args:
            gt_segments (Tensor): ``(N, 2)`` normalised ground truth; its
                device and dtype are those of the result.
            min_length (float, optional): SPF floor of this video
                (normalised); ``None``: the default of the constructor.
            generator (torch.Generator, optional): RNG (the global one by
                default, which mmengine seeds).
            return_kinds (bool): also return which kind each sample is.

        Returns:
            Tensor: ``(Q, 2)`` queries, grid first, then random, then per-gt
            samples; with ``return_kinds`` a dict with ``queries`` and
            ``kinds`` ``(Q,)`` long (0 grid, 1 random, 2 scale-invariant).
        """
        if gt_segments.dim() != 2 or gt_segments.shape[-1] != 2:
            raise ValueError('gt_segments must be (N, 2) normalised '
                             f'segments, got {tuple(gt_segments.shape)}')
        device, dtype = gt_segments.device, gt_segments.dtype
        if not dtype.is_floating_point:
            dtype = torch.float32
            gt_segments = gt_segments.to(dtype)
        parts, kinds = [], []
        if self.use_grid:
            parts.append(self.grid_queries(device, dtype))
        if self.use_random and self.num_random > 0:
            parts.append(self.random_samples(self.num_random, device, dtype,
                                             generator))
        if self.use_gt:
            parts.append(self.gt_samples(gt_segments, generator))
        for kind, flag in enumerate((self.use_grid, self.use_random
                                     and self.num_random > 0, self.use_gt)):
            if flag:
                kinds.append(kind)
        min_len = self.min_length if min_length is None else float(min_length)
        queries = apply_min_length(torch.cat(parts, dim=0), min_len)
        if not return_kinds:
            return queries
        kind_ids = torch.cat([
            torch.full((p.shape[0], ), k, dtype=torch.long, device=device)
            for p, k in zip(parts, kinds)
        ])
        return dict(queries=queries, kinds=kind_ids)

    def sample_batch(self, gts: Tensor, gt_valid: Tensor, ref: Tensor,
                     min_lengths: Optional[Sequence[float]] = None,
                     extra_queries: Optional[Sequence[Tensor]] = None,
                     return_kinds: bool = False
                     ) -> Union[Tuple[Tensor, Tensor],
                                Tuple[Tensor, Tensor, Tensor]]:
        """Training queries of a batch (:meth:`sample` per video), padded.

        Args:
            gts (Tensor): ``(B, N, 2)`` padded ground truth, ``gt_valid``
                ``(B, N)`` bool (``RCLAssigner.pad_gts``).
            ref (Tensor): the result's dtype and device.
            min_lengths (sequence, optional): per-video SPF floors.
            extra_queries (list[Tensor], optional): per video ``(M_i, 2)``
                more queries (detached, floored), appended to the sampled.
            return_kinds (bool): also return ``kinds`` ``(B, Q)`` long:
                0 grid, 1 random, 2 scale-invariant, 3 extra, -1 padding.

        Returns:
            tuple: ``queries`` ``(B, Q, 2)`` zero-padded and ``valid``
            ``(B, Q)`` bool (and ``kinds`` with ``return_kinds``).
        """
        b = gts.shape[0]
        queries, kinds = [], []
        for i in range(b):
            ml = None if min_lengths is None else float(min_lengths[i])
            out = self.sample(gts[i][gt_valid[i]], ml, return_kinds=True)
            q, k = out['queries'], out['kinds']
            if extra_queries is not None and len(extra_queries[i]):
                extra = torch.as_tensor(extra_queries[i], dtype=q.dtype,
                                        device=q.device).detach()
                floor = self.min_length if ml is None else ml
                q = torch.cat([q, apply_min_length(extra, floor)])
                k = torch.cat([k, k.new_full((extra.shape[0], ), 3)])
            queries.append(q)
            kinds.append(k)
        q_max = max(q.shape[0] for q in queries)
        padded = ref.new_zeros(b, q_max, 2)
        valid = torch.zeros(b, q_max, dtype=torch.bool, device=ref.device)
        kind = torch.full((b, q_max), -1, dtype=torch.long,
                          device=ref.device)
        for i, (q, k) in enumerate(zip(queries, kinds)):
            padded[i, :q.shape[0]] = q
            valid[i, :q.shape[0]] = True
            kind[i, :q.shape[0]] = k
        if return_kinds:
            return padded, valid, kind
        return padded, valid

    @staticmethod
    def select_refine(iou: Tensor, valid: Tensor, num: int,
                      top_fraction: float, pos_fraction: float,
                      pos_iou_thr: float,
                      logits: Optional[Tensor] = None) -> Tensor:
        """``(B, R)`` indices of the queries the recurrent refine module
        refines at training time (``R = min(num, fewest valid)``): a
        ``top_fraction`` share of the best CAR scores ``p^1 p^2`` (what
        inference refines; needs ``logits (B, Q, 2)``), a ``pos_fraction``
        share among tIoU* > ``pos_iou_thr``, the rest uniformly among the
        other valid ones.

        Args:
            iou (Tensor): ``(B, Q)`` tIoU* of every query.
            valid (Tensor): ``(B, Q)`` bool.
        """
        r = min(num, int(valid.sum(1).min()))
        rand = torch.rand_like(iou)
        neg = rand.new_tensor(-1.0)
        pos = valid & (iou > pos_iou_thr)
        n_top = int(r * top_fraction) if logits is not None else 0
        out = []
        for i in range(iou.shape[0]):
            free = valid[i].clone()
            chosen = []
            if n_top:
                score = torch.sigmoid(logits[i]).prod(-1)
                idx = torch.where(free, score, neg).topk(n_top).indices
                free[idx] = False
                chosen.append(idx)
            n_pos = min(int((pos[i] & free).sum()), int(r * pos_fraction))
            idx = torch.where(pos[i] & free, rand[i], neg).topk(n_pos).indices
            free[idx] = False
            chosen.append(idx)
            k_rest = r - sum(c.numel() for c in chosen)
            chosen.append(torch.where(free, rand[i], neg).topk(k_rest).indices)
            out.append(torch.cat(chosen))
        return torch.stack(out)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_grid={self.num_grid}, '
                f'grid={self.use_grid}, random={self.use_random}'
                f'({self.num_random}), gt={self.use_gt}({self.num_per_gt}, '
                f'std={self.gt_std_ratio}l), min_length={self.min_length})')


def boundary_peaks(probs: Tensor, first: bool) -> Tensor:
    """BMN's boundary candidates (MMAction2 ``BMN._parse`` rule): a local
    maximum of ``probs`` or above half its maximum, plus the first (start)
    or the last (end) position.

    Args:
        probs (Tensor): ``(B, T)`` start or end probabilities.
        first (bool): start probabilities (the first position is always a
            candidate) or end probabilities (the last one is).

    Returns:
        Tensor: ``(B, T)`` bool.
    """
    peak = torch.zeros_like(probs, dtype=torch.bool)
    mid = probs[:, 1:-1]
    peak[:, 1:-1] = (mid > probs[:, 2:]) & (mid > probs[:, :-2])
    peak |= probs > 0.5 * probs.max(dim=1, keepdim=True).values
    peak[:, 0 if first else -1] = True
    return peak


def gather_refine_queries(refine_index, logits: Tensor,
                          refine_topk: Optional[int], embed: Tensor,
                          queries: Tensor, offsets: Tensor
                          ) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """The queries the recurrent refine module iterates, with their CAR
    state.

    Args:
        refine_index (Tensor | callable | None): ``(B, R)`` indices, or a
            function of the detached CAR logits returning them; ``None``:
            the ``refine_topk`` queries of highest CAR score ``p^1 p^2``
            when ``refine_topk < Q``, else all queries in order.
        logits (Tensor): ``(B, Q, 2)`` CAR confidence logits.
        refine_topk (int, optional): see ``refine_index``.
        embed (Tensor): ``(B, Q, E)`` CAR embeddings.
        queries, offsets (Tensor): ``(B, Q, 2)``.

    Returns:
        tuple: ``index (B, R)`` and the ``embed``, ``queries``, ``logits``,
        ``offsets`` rows of those queries.
    """
    if callable(refine_index):
        refine_index = refine_index(logits.detach())
    if (refine_index is None and refine_topk is not None
            and refine_topk < queries.shape[1]):
        score0 = torch.sigmoid(logits.detach()).prod(-1)
        refine_index = score0.topk(int(refine_topk), dim=1).indices
    if refine_index is None:
        refine_index = torch.arange(
            queries.shape[1], device=queries.device)[None].expand(
                queries.shape[0], -1)
        return refine_index, embed, queries, logits, offsets
    idx2 = refine_index[..., None]
    return (refine_index,
            embed.gather(1, idx2.expand(-1, -1, embed.shape[-1])),
            queries.gather(1, idx2.expand(-1, -1, 2)),
            logits.gather(1, idx2.expand(-1, -1, 2)),
            offsets.gather(1, idx2.expand(-1, -1, 2)))


def grid_boundary_peaks(grid: Tensor, num_steps: int, start_probs: Tensor,
                        end_probs: Tensor) -> Tensor:
    """``(B, Q)`` bool: grid queries whose start and end snippets are
    boundary peaks (:func:`boundary_peaks`), BMN's enumeration of
    candidates; ``grid`` ``(Q, 2)`` normalised, start ``s / T``, end
    ``e / T``."""
    idx = (grid * num_steps).round().long().clamp(0, num_steps - 1)
    return (boundary_peaks(start_probs, True)[:, idx[:, 0]]
            & boundary_peaks(end_probs, False)[:, idx[:, 1]])
