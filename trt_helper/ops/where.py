"""Selecting between two tensors by a bool condition."""

from __future__ import annotations

import torch

from ..core import ITensor, NetworkHelper, op
from .constant import scalar_like
from .squeeze import addUnsqueeze


@op
def addWhere(helper: NetworkHelper, condition: ITensor, a: ITensor | float | int, b: ITensor | float | int) -> ITensor:
    """``torch.where(condition, a, b)``; ``a``/``b`` may be python numbers; ranks broadcast like torch.

    Example:
        >>> y = helper.addWhere(mask, x, 0.0)
    """
    helper.check_tensor(condition, "condition")
    if helper.torch_dtype(condition) != torch.bool:
        raise TypeError(f"{helper.where()}: condition must be bool, got {helper.torch_dtype(condition)}")
    if not helper.is_tensor(a):
        if not helper.is_tensor(b):
            raise TypeError(f"{helper.where()}: a or b must be a network tensor (ITensor), got {type(a).__name__}")
        a = scalar_like(helper, a, b)
    if not helper.is_tensor(b):
        b = scalar_like(helper, b, a)
    if a.dtype != b.dtype:
        raise TypeError(f"{helper.where()}: a {helper.torch_dtype(a)} and b {helper.torch_dtype(b)} differ in dtype")
    rank = max(len(t.shape) for t in (condition, a, b))
    operands = [
        t if len(t.shape) == rank else addUnsqueeze(helper, t, list(range(rank - len(t.shape))))
        for t in (condition, a, b)
    ]
    return helper.finish(helper.network.add_select(*operands), *operands).get_output(0)
