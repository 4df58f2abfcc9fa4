"""Ranges of integers."""

from __future__ import annotations

import torch

from ..core import ITensor, NetworkHelper, op
from .constant import addConstant
from .shape_of import Dim, shape_tensor


@op
def addArange(helper: NetworkHelper, end: Dim, dtype: torch.dtype = torch.int32) -> ITensor:
    """``torch.arange(end)``; ``end`` is an int or an int scalar tensor.

    Example:
        >>> steps = helper.addArange(helper.addShapeOf(x, 1))
    """
    layer = helper.network.add_fill((0,), helper.trt.FillOperation.LINSPACE, helper.trt_dtype(dtype))
    layer.set_input(0, shape_tensor(helper, [end]))
    layer.set_input(1, addConstant(helper, torch.tensor(0, dtype=dtype), name="start"))
    layer.set_input(2, addConstant(helper, torch.tensor([1], dtype=dtype), name="step"))
    return helper.finish(layer).get_output(0)
