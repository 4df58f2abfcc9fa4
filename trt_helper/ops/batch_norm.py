"""torch.nn.BatchNorm1d/2d in eval mode, folded into a scale and a shift."""

from __future__ import annotations

import torch
from torch import nn

from ..core import ITensor, NetworkHelper, leaf, op
from .binary import addAdd, addMul
from .constant import addConstant
from .linear import check_features


def fold_running_stats(helper: NetworkHelper, module: nn.modules.batchnorm._NormBase, x: ITensor) -> ITensor:
    """``x * scale + shift`` per channel (dim 1) from the module's running statistics, eps and affine."""
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


def _batch_norm(
    helper: NetworkHelper, module: nn.modules.batchnorm._BatchNorm, x: ITensor, ranks: tuple[int, ...]
) -> ITensor:
    helper.check_rank(x, ranks)
    helper.check_float(x)
    check_features(helper, x, 1, module.num_features, "channels")
    return fold_running_stats(helper, module, x)


@op(module=nn.BatchNorm1d)
def addBatchNorm1d(helper: NetworkHelper, module: nn.BatchNorm1d, x: ITensor) -> ITensor:
    """``module(x)`` for ``torch.nn.BatchNorm1d`` in eval mode (running statistics) on (B, C) or (B, C, T).

    Example:
        >>> x = helper.addBatchNorm1d(self.norm, x)
    """
    return _batch_norm(helper, module, x, (2, 3))


@op(module=nn.BatchNorm2d)
def addBatchNorm2d(helper: NetworkHelper, module: nn.BatchNorm2d, x: ITensor) -> ITensor:
    """``module(x)`` for ``torch.nn.BatchNorm2d`` in eval mode (running statistics) on (B, C, H, W).

    Example:
        >>> x = helper.addBatchNorm2d(self.bn1, helper.addConv2d(self.conv1, x))
    """
    return _batch_norm(helper, module, x, (4,))


leaf(nn.BatchNorm1d, addBatchNorm1d)
leaf(nn.BatchNorm2d, addBatchNorm2d)
