"""torch.nn.BatchNorm1d in eval mode, folded into a scale and a shift."""

from __future__ import annotations

import torch
from torch import nn

from ..core import ITensor, NetworkHelper, leaf, op
from .binary import addAdd, addMul
from .constant import addConstant
from .linear import check_features


@op(module=nn.BatchNorm1d)
def addBatchNorm1d(helper: NetworkHelper, module: nn.BatchNorm1d, x: ITensor) -> ITensor:
    """``module(x)`` for ``torch.nn.BatchNorm1d`` in eval mode (running statistics) on (B, C) or (B, C, T).

    Example:
        >>> x = helper.addBatchNorm1d(self.norm, x)
    """
    helper.check_rank(x, (2, 3))
    helper.check_float(x)
    check_features(helper, x, 1, module.num_features, "channels")
    if module.running_mean is None or module.running_var is None:
        raise ValueError(f"{helper.where()}: track_running_stats=False has no running statistics to fold")
    scale = torch.rsqrt(module.running_var.double() + module.eps)
    if module.weight is not None:
        scale = scale * module.weight.double()
    shift = -module.running_mean.double() * scale
    if module.bias is not None:
        shift = shift + module.bias.double()
    shape = (1, -1) + (1,) * (len(x.shape) - 2)
    dtype = helper.torch_dtype(x)
    out = addMul(helper, x, addConstant(helper, scale.reshape(shape), dtype=dtype, name="scale"))
    return addAdd(helper, out, addConstant(helper, shift.reshape(shape), dtype=dtype, name="shift"))


leaf(nn.BatchNorm1d, addBatchNorm1d)
