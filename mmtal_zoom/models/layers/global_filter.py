"""The FFT global branch of the GMG block (CLTDR-GMG, Li et al., Eq. 1-3).

``f_global = IFFT(X_f * W_phi)`` with ``X_f = FFT(x)`` over the time axis and
a filter ``W_phi`` computed from the spectrum itself. The Hadamard product in
the frequency domain is a circular convolution in time whose kernel spans the
whole sequence, at ``O(T log T)`` cost instead of self-attention's ``O(T^2)``.

Written by hand because neither torch nor mmcv has a masked, variable-length
spectral filter; the FFTs themselves are ``torch.fft``.
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

FILTER_TYPES = ('conv', 'mlp')


class GlobalFilter(nn.Module):
    """Learned global filter on the real FFT of each sequence's valid part.

    Two forms of ``W_phi``:

    * ``'conv'`` (the paper, Eq. 2): ``W_phi = Conv(ReLU(Conv(X_f)))`` with
      1-D depth-wise convolutions along the frequency axis. The spectrum is
      complex, so each channel's (real, imaginary) pair is one group of a
      grouped convolution (2 in / 2 out per channel, i.e. a complex-valued
      depth-wise convolution); ReLU acts on the real and imaginary parts.
    * ``'mlp'`` (the authors' code): a per-channel two-layer complex MLP shared
      across frequencies (complex weights ``w1, w2`` and biases, ReLU between)
      followed by ``softshrink(sparsity_threshold)``; this equals the
      ``'conv'`` form with kernel size 1 plus the shrinkage.

    Padding: the FFT runs on the first ``L_b`` (valid) positions of each
    sequence ``b`` (masks are prefix masks: valid positions first), so
    padding never changes the outputs at valid positions, for any ``T``
    (not only powers of two). Sequences of equal valid length are batched
    together; a batch without padding is one call. Runs in float32 (cuFFT
    accepts half precision only for powers of two).

    Args:
        embed_dims (int): ``C``.
        filter_type (str): ``'conv'`` (paper) or ``'mlp'`` (official code).
        kernel_size (int): frequency kernel of the ``'conv'`` filter (odd).
        sparsity_threshold (float): softshrink lambda of the ``'mlp'`` filter.
        fft_norm (str): ``torch.fft`` normalisation (``'ortho'``, as the
            official code).
        init_std (float): std of the normal initialisation of the filter's
            weights and biases (0.02, the official code's).
        identity_init (bool): add 1 to the real part of ``W_phi``'s output
            bias, so that the filter starts near the all-pass filter
            (``f_global ~ h``) instead of near zero. Own design, an option
            (the paper gives no initialisation): Eq. 4 gates the local and
            instant branches by ``ReLU(f_global)``, which the N(0, 0.02)
            start keeps nearly shut through training; opening it measured
            worse (docs/cltdr_gmg.md, "Why CLTDR-GMG falls behind").

    Shapes:
        x: ``(B, C, T)`` (zero at padded positions), mask: ``(B, T)`` bool ->
        ``(B, C, T)``, zero at padded positions.
    """

    def __init__(self, embed_dims: int, filter_type: str = 'conv',
                 kernel_size: int = 3, sparsity_threshold: float = 0.001,
                 fft_norm: str = 'ortho', init_std: float = 0.02,
                 identity_init: bool = False):
        super().__init__()
        if filter_type not in FILTER_TYPES:
            raise ValueError(f'GlobalFilter filter_type must be one of '
                             f'{FILTER_TYPES}, got {filter_type!r}.')
        if kernel_size % 2 != 1:
            raise ValueError(
                f'GlobalFilter kernel_size must be odd, got {kernel_size}.')
        self.embed_dims = embed_dims
        self.filter_type = filter_type
        self.sparsity_threshold = sparsity_threshold
        self.fft_norm = fft_norm
        if filter_type == 'conv':
            c2 = 2 * embed_dims
            self.conv1 = nn.Conv1d(c2, c2, kernel_size,
                                   padding=kernel_size // 2,
                                   groups=embed_dims)
            self.conv2 = nn.Conv1d(c2, c2, kernel_size,
                                   padding=kernel_size // 2,
                                   groups=embed_dims)
            # small initial filters, as the official code's N(0, 0.02)
            # complex weights: the product X_f * W_phi is quadratic in the
            # input, and a default (Kaiming) init lets it dominate the block
            # early in training
            for conv in (self.conv1, self.conv2):
                nn.init.normal_(conv.weight, std=init_std)
                nn.init.normal_(conv.bias, std=init_std)
            if identity_init:  # channel 2c: real part of channel c
                with torch.no_grad():
                    self.conv2.bias[0::2] += 1.0
        else:
            # (real, imaginary) parts of complex per-channel weights / biases
            def param():
                return nn.Parameter(init_std * torch.randn(2, embed_dims, 1))

            self.w1, self.b1, self.w2, self.b2 = (param(), param(), param(),
                                                  param())
            if identity_init:
                with torch.no_grad():
                    self.b2[0] += 1.0

    # ------------------------------------------------------------------
    def _spectral_filter(self, spec: Tensor) -> Tensor:
        """``W_phi`` of a complex spectrum ``(B, C, F)`` (Eq. 2)."""
        if self.filter_type == 'conv':
            b, c, f = spec.shape
            # (B, C, F) complex -> (B, 2C, F) real: channel 2c real, 2c+1 imag
            z = torch.view_as_real(spec).permute(0, 1, 3, 2).reshape(
                b, 2 * c, f)
            z = self.conv2(F.relu(self.conv1(z)))
            z = z.view(b, c, 2, f).permute(0, 1, 3, 2).contiguous()
            return torch.view_as_complex(z)
        re, im = spec.real, spec.imag
        h_re = F.relu(re * self.w1[0] - im * self.w1[1] + self.b1[0])
        h_im = F.relu(im * self.w1[0] + re * self.w1[1] + self.b1[1])
        o_re = h_re * self.w2[0] - h_im * self.w2[1] + self.b2[0]
        o_im = h_im * self.w2[0] + h_re * self.w2[1] + self.b2[1]
        out = F.softshrink(torch.stack([o_re, o_im], dim=-1),
                           lambd=self.sparsity_threshold)
        return torch.view_as_complex(out.contiguous())

    def _filter_full(self, x: Tensor) -> Tensor:
        """Eq. 1-3 on unpadded sequences ``(B, C, L)``."""
        length = x.shape[-1]
        with torch.autocast(device_type=x.device.type, enabled=False):
            spec = torch.fft.rfft(x.float(), dim=-1, norm=self.fft_norm)  # (1)
            spec = spec * self._spectral_filter(spec)  # Eq. 2-3 (Hadamard)
            out = torch.fft.irfft(spec, n=length, dim=-1, norm=self.fft_norm)
        return out.to(x.dtype)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        lengths = mask.sum(dim=-1)
        t = x.shape[-1]
        groups = valid_length_groups(lengths)
        if len(groups) == 1 and groups[0][0] == t:
            return self._filter_full(x)
        out = x.new_zeros(x.shape)
        for length, idx in groups:
            if length == 0:
                continue
            out[idx, :, :length] = self._filter_full(x[idx, :, :length])
        return out


def valid_length_groups(lengths: Tensor) -> list:
    """Group the samples of a batch by valid length.

    Args:
        lengths (Tensor): ``(B,)`` valid lengths (mask sums).

    Returns:
        list[tuple[int, Tensor]]: ``(length, sample indices)`` per distinct
        length. One host sync for the whole batch (the lengths decide tensor
        shapes, so they must be known on the host).
    """
    values = torch.unique(lengths).tolist()
    if len(values) == 1:
        return [(int(values[0]),
                 torch.arange(lengths.numel(), device=lengths.device))]
    return [(int(v), (lengths == v).nonzero().squeeze(1)) for v in values]


def check_prefix_mask(mask: Tensor, where: str) -> Tuple[Tensor, Tensor]:
    """Raise unless every row of ``mask`` is ``[True]*L + [False]*(T-L)``.

    Returns ``(mask, lengths)``. The FFT branch needs the valid positions to
    be contiguous from the start, which ``TALDataPreprocessor`` guarantees.
    """
    lengths = mask.sum(dim=-1)
    expected = (torch.arange(mask.shape[-1], device=mask.device)[None] <
                lengths[:, None])
    if not torch.equal(expected, mask.bool()):
        raise ValueError(
            f'{where}: masks must be prefix masks (valid positions first, '
            'padding at the end), as TALDataPreprocessor builds them.')
    return mask, lengths
