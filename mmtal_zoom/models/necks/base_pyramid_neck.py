"""What the pyramid necks share: a stem at full resolution gives level 0,
each block of a branch gives the next level (after an optional
downsampling), and every level ends in an optional LayerNorm (ActionFormer's
``FPNIdentity``)."""
from typing import Sequence, Tuple

from mmengine.model import BaseModule
from torch import Tensor, nn

from ..layers import LayerNorm1d


class BasePyramidNeck(BaseModule):
    """Base of :class:`TransformerPyramidNeck` and :class:`GMGNeck`.

    A subclass builds ``self.stem`` and ``self.branch`` (``nn.ModuleList`` of
    masked blocks ``(x, mask) -> (x, mask)``) and ``self.out_norms``
    (:meth:`build_out_norms`), and overrides :meth:`downsample` when its
    branch blocks do not downsample themselves.
    """

    @staticmethod
    def build_out_norms(embed_dims: int, num_levels: int,
                        out_norm: bool) -> nn.ModuleList:
        """A LayerNorm (or identity) per output level."""
        return nn.ModuleList(
            LayerNorm1d(embed_dims) if out_norm else nn.Identity()
            for _ in range(num_levels))

    def downsample(self, x: Tensor, mask: Tensor) -> Tuple[Tensor, Tensor]:
        """Applied before each branch block; the identity by default (the
        branch blocks stride themselves)."""
        return x, mask

    def pyramid(self, x: Tensor, mask: Tensor
                ) -> Tuple[Tuple[Tensor, ...], Tuple[Tensor, ...]]:
        """Stem, then branch: ``(B, D, T), (B, T)`` -> the levels and their
        masks, each level normalised and zero at padding."""
        for blk in self.stem:
            x, mask = blk(x, mask)
        out_feats, out_masks = [x], [mask]
        for blk in self.branch:
            x, mask = self.downsample(x, mask)
            x, mask = blk(x, mask)
            out_feats.append(x)
            out_masks.append(mask)
        out_feats = [
            norm(f) * m[:, None].to(f.dtype)
            for norm, f, m in zip(self.out_norms, out_feats, out_masks)
        ]
        return tuple(out_feats), tuple(out_masks)

    @staticmethod
    def single_level(name: str, feats: Sequence[Tensor],
                     masks: Sequence[Tensor]) -> Tuple[Tensor, Tensor]:
        """The one input level (a pyramid neck builds from one level)."""
        if len(feats) != 1:
            raise ValueError(f'{name} builds the pyramid from one level; got '
                             f'{len(feats)} levels.')
        return feats[0], masks[0]
