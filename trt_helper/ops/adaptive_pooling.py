"""torch.nn.AdaptiveAvgPool1d/2d and AdaptiveMaxPool1d/2d.

Per spatial dim: output size 1 is a reduction (dynamic sizes fine); other output sizes need a static input size:
averages are a matrix product with torch's window weights, maxima a max over equal windows when the size divides evenly.
"""

from __future__ import annotations

import torch
from torch import nn

from ..core import ITensor, NetworkHelper, leaf, op
from .constant import addConstant
from .matmul import addMatMul
from .reduce import addMax, addMean
from .reshape import addUnflatten

Adaptive = nn.AdaptiveAvgPool1d | nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool1d | nn.AdaptiveMaxPool2d


def _window_weights(n: int, o: int) -> torch.Tensor:
    """(n, o): column i averages torch's window ``floor(i n / o) : ceil((i + 1) n / o)``."""
    weights = torch.zeros(n, o, dtype=torch.float64)
    for i in range(o):
        start, end = (i * n) // o, -((-(i + 1) * n) // o)
        weights[start:end, i] = 1.0 / (end - start)
    return weights


def _adaptive(helper: NetworkHelper, module: Adaptive, x: ITensor, spatial: int, kind: str) -> ITensor:
    helper.check_rank(x, (spatial + 1, spatial + 2))
    helper.check_float(x)
    if getattr(module, "return_indices", False):
        raise ValueError(f"{helper.where()}: {type(module).__name__}(return_indices=True) is not supported")
    sizes = module.output_size if isinstance(module.output_size, (tuple, list)) else (module.output_size,) * spatial
    rank, dtype = len(x.shape), helper.torch_dtype(x)
    for i, o in enumerate(sizes):
        d = rank - spatial + i
        n = helper.shape(x)[d]
        if o is None or o == n:
            continue
        if o == 1:
            x = (addMean if kind == "AVERAGE" else addMax)(helper, x, d, keepdim=True)
        elif n == -1:
            raise ValueError(
                f"{helper.where()}: {type(module).__name__}(output_size={module.output_size}) needs a "
                f"static size in dim {d} (input shape {helper.shape(x)}) unless the output size is 1"
            )
        elif kind == "AVERAGE":
            weights = _window_weights(n, o)
            if d == rank - 1:
                x = addMatMul(
                    helper,
                    x,
                    addConstant(helper, weights.reshape((1,) * (rank - 2) + (n, o)), dtype=dtype, name="weights"),
                )
            else:  # the second-to-last dim: weightsᵀ @ x
                x = addMatMul(
                    helper,
                    addConstant(helper, weights.T.reshape((1,) * (rank - 2) + (o, n)), dtype=dtype, name="weights"),
                    x,
                )
        elif n % o:
            raise ValueError(
                f"{helper.where()}: {type(module).__name__}(output_size={module.output_size}): dim {d} "
                f"of {helper.shape(x)} is not a multiple of {o} (overlapping windows are not supported)"
            )
        else:
            x = addMax(helper, addUnflatten(helper, x, d, (o, n // o), name="windows"), d + 1)
    return x


@op(module=nn.AdaptiveAvgPool1d)
def addAdaptiveAvgPool1d(helper: NetworkHelper, module: nn.AdaptiveAvgPool1d, x: ITensor) -> ITensor:
    """``module(x)`` for ``torch.nn.AdaptiveAvgPool1d`` on x (B, C, T) or (C, T).

    Example:
        >>> pooled = helper.addAdaptiveAvgPool1d(self.pool, x)             # output_size=1: mean over time
    """
    return _adaptive(helper, module, x, 1, "AVERAGE")


@op(module=nn.AdaptiveAvgPool2d)
def addAdaptiveAvgPool2d(helper: NetworkHelper, module: nn.AdaptiveAvgPool2d, x: ITensor) -> ITensor:
    """``module(x)`` for ``torch.nn.AdaptiveAvgPool2d`` on x (B, C, H, W) or (C, H, W).

    Example:
        >>> features = helper.addAdaptiveAvgPool2d(self.avgpool, x)         # (B, C, H, W) -> (B, C, 1, 1)
    """
    return _adaptive(helper, module, x, 2, "AVERAGE")


@op(module=nn.AdaptiveMaxPool1d)
def addAdaptiveMaxPool1d(helper: NetworkHelper, module: nn.AdaptiveMaxPool1d, x: ITensor) -> ITensor:
    """``module(x)`` for ``torch.nn.AdaptiveMaxPool1d`` on x (B, C, T) or (C, T).

    Example:
        >>> pooled = helper.addAdaptiveMaxPool1d(self.pool, x)
    """
    return _adaptive(helper, module, x, 1, "MAX")


@op(module=nn.AdaptiveMaxPool2d)
def addAdaptiveMaxPool2d(helper: NetworkHelper, module: nn.AdaptiveMaxPool2d, x: ITensor) -> ITensor:
    """``module(x)`` for ``torch.nn.AdaptiveMaxPool2d`` on x (B, C, H, W) or (C, H, W).

    Example:
        >>> pooled = helper.addAdaptiveMaxPool2d(self.pool, x)
    """
    return _adaptive(helper, module, x, 2, "MAX")


leaf(nn.AdaptiveAvgPool1d, addAdaptiveAvgPool1d)
leaf(nn.AdaptiveAvgPool2d, addAdaptiveAvgPool2d)
leaf(nn.AdaptiveMaxPool1d, addAdaptiveMaxPool1d)
leaf(nn.AdaptiveMaxPool2d, addAdaptiveMaxPool2d)
