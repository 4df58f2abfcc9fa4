"""Padding masks from sequence lengths."""

from __future__ import annotations

import torch

from ..core import ITensor, NetworkHelper, op
from .arange import addArange
from .binary import addLess
from .shape_of import Dim, addShapeOf
from .squeeze import addUnsqueeze


@op
def addMaskFromLengths(helper: NetworkHelper, lengths: ITensor, max_len: Dim) -> ITensor:
    """``mask[b, t] = t < lengths[b]`` for ``t < max_len`` → bool (B, max_len). ``lengths`` is int32/int64
    (B,); ``max_len`` an int or an int scalar tensor (e.g. ``addShapeOf(x, 1)``).

    Example:
        >>> mask = helper.addMaskFromLengths(lengths, helper.addShapeOf(x, 1))
    """
    helper.check_rank(lengths, (1,), "lengths")
    dtype = helper.torch_dtype(lengths)
    if dtype not in (torch.int32, torch.int64):
        raise TypeError(f"{helper.where()}: lengths must be int32/int64, got {dtype} {helper.shape(lengths)}")
    steps = addUnsqueeze(helper, addArange(helper, max_len, dtype), 0)
    return addLess(helper, steps, addUnsqueeze(helper, lengths, 1))


def time_mask(helper: NetworkHelper, lengths: ITensor, like: ITensor, time_dim: int) -> ITensor:
    """bool ``t < lengths[b]`` shaped to broadcast against ``like`` (batch at dim 0, time at ``time_dim``, 1
    elsewhere)."""
    mask = addMaskFromLengths(helper, lengths, addShapeOf(helper, like, time_dim), name="mask")
    others = [d for d in range(len(like.shape)) if d not in (0, time_dim)]
    return addUnsqueeze(helper, mask, others) if others else mask
