"""Batching of variable-length feature sequences."""
import math
from typing import List, Optional, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor

from mmaction.registry import MODELS


@MODELS.register_module()
class TALDataPreprocessor(BaseDataPreprocessor):
    """Pad a list of ``(C, T_i)`` features into ``(B, C, T)`` plus masks.

    The stock mmengine dataloader (``pseudo_collate``) hands over lists; this
    pads them, so variable-length sequences need no custom collate function.

    Args:
        max_seq_len (int, optional): at training time, batches are padded to
            exactly this length (ActionFormer's behaviour; inputs are already
            truncated to it by ``RandomTruncateTAL``). At test time inputs
            are padded to the longest sequence, rounded up to
            ``pad_size_divisor``.
        pad_size_divisor (int): padded length is a multiple of this, so that
            every pyramid level (stride ``2^l``) divides it. Default 1.
        pad_value (float): value written at padded positions. Default 0.
        noise_std (float): std of Gaussian noise added to the features at
            training time (CLTDR-GMG's input noise); 0 disables it.
    """

    def __init__(self,
                 max_seq_len: Optional[int] = None,
                 pad_size_divisor: int = 1,
                 pad_value: float = 0.0,
                 noise_std: float = 0.0):
        super().__init__()
        self.max_seq_len = max_seq_len
        self.pad_size_divisor = pad_size_divisor
        self.pad_value = pad_value
        self.noise_std = noise_std

    def forward(self, data: dict, training: bool = False) -> dict:
        """Args:
            data (dict): ``inputs`` list of ``(C, T_i)`` tensors (or an
                already-batched ``(B, C, T)`` tensor) and ``data_samples``.

        Returns:
            dict: ``inputs`` ``(B, C, T)``, ``masks`` ``(B, T)`` bool and
            ``data_samples``.
        """
        data = self.cast_data(data)
        inputs: Union[List[torch.Tensor], torch.Tensor] = data['inputs']
        if isinstance(inputs, torch.Tensor):
            inputs = list(inputs)
        lengths = [int(x.shape[-1]) for x in inputs]
        for i, x in enumerate(inputs):
            if x.dim() != 2:
                raise ValueError(
                    f'TALDataPreprocessor expects (C, T) features per video, '
                    f'got shape {tuple(x.shape)} for sample {i}.')
        max_len = max(lengths)
        if training and self.max_seq_len is not None:
            if max_len > self.max_seq_len:
                raise ValueError(
                    f'A training sequence has {max_len} snippets, more than '
                    f'max_seq_len={self.max_seq_len}; add RandomTruncateTAL '
                    'to the training pipeline.')
            target_len = self.max_seq_len
        else:
            target_len = max_len
        div = self.pad_size_divisor
        target_len = int(math.ceil(target_len / div) * div)

        feats = torch.stack([
            F.pad(x.float(), (0, target_len - x.shape[-1]),
                  value=self.pad_value) for x in inputs
        ])
        device = feats.device
        masks = (torch.arange(target_len, device=device)[None, :] <
                 torch.tensor(lengths, device=device)[:, None])
        if training and self.noise_std > 0:
            feats = feats + self.noise_std * torch.randn_like(feats)
            feats = feats * masks[:, None, :]
        return dict(inputs=feats, masks=masks,
                    data_samples=data.get('data_samples'))
