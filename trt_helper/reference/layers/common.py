"""Helpers the evaluators share.

Floating inputs arrive as they are; ``f32`` lifts fp16/bf16 to fp32 so layers compute like TensorRT's
fp32-accumulating kernels, and the executor rounds every output to the tensor's declared dtype.
"""

from __future__ import annotations

import numpy as np
import torch


def f32(t):
    """``t`` in fp32 when it is a narrower float, else unchanged."""
    return t.float() if t.is_floating_point() and t.dtype != torch.float64 else t


def mask_axes(mask: int, rank: int) -> list[int]:
    """The axes set in a TensorRT axes bit mask."""
    return [d for d in range(rank) if mask >> d & 1]


def int_dims(value) -> list[int]:
    """A TensorRT Dims (or any sequence) as a list of ints."""
    return [int(d) for d in value]


def weights_tensor(weights, device):
    """TensorRT Weights as a torch tensor (copied)."""
    array = np.asarray(weights)
    return torch.from_numpy(array.copy()).to(device)
