"""TALDataPreprocessor: padding and masks for variable-length batches."""
import pytest
import torch

from mmaction.registry import MODELS


def test_pads_to_divisor_and_builds_masks():
    pre = MODELS.build(dict(type='TALDataPreprocessor', pad_size_divisor=4))
    out = pre(dict(inputs=[torch.ones(3, 5), torch.ones(3, 2)],
                   data_samples=None))
    assert out['inputs'].shape == (2, 3, 8)
    assert out['masks'].sum(1).tolist() == [5, 2]
    assert out['inputs'][1, :, 2:].abs().sum() == 0


def test_training_pads_to_max_seq_len_and_rejects_longer():
    pre = MODELS.build(dict(type='TALDataPreprocessor', max_seq_len=16))
    out = pre(dict(inputs=[torch.ones(3, 5)], data_samples=None), True)
    assert out['inputs'].shape == (1, 3, 16)
    with pytest.raises(ValueError, match='RandomTruncateTAL'):
        pre(dict(inputs=[torch.ones(3, 17)], data_samples=None), True)


def test_noise_only_in_training_and_only_on_valid_positions():
    pre = MODELS.build(dict(type='TALDataPreprocessor', noise_std=0.5))
    x = [torch.zeros(2, 4), torch.zeros(2, 2)]
    assert pre(dict(inputs=x, data_samples=None))['inputs'].abs().sum() == 0
    noisy = pre(dict(inputs=x, data_samples=None), True)['inputs']
    assert noisy[0].abs().sum() > 0 and noisy[1, :, 2:].abs().sum() == 0


def test_rejects_wrong_rank():
    pre = MODELS.build(dict(type='TALDataPreprocessor'))
    with pytest.raises(ValueError, match=r'\(C, T\)'):
        pre(dict(inputs=[torch.ones(1, 3, 5)], data_samples=None))
