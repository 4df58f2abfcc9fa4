"""Adding and removing size-1 dims."""

from __future__ import annotations

import torch

from ..core import ITensor, NetworkHelper, op
from .constant import addConstant


def _axes_tensor(helper: NetworkHelper, dims: list[int]) -> ITensor:
    return addConstant(helper, torch.tensor(sorted(dims), dtype=torch.int64), name="axes")


@op
def addUnsqueeze(helper: NetworkHelper, x: ITensor, dim: int | list[int]) -> ITensor:
    """``x.unsqueeze(dim)``; ``dim`` may be a list of positions in the output.

    Example:
        >>> row = helper.addUnsqueeze(lengths, 1)          # (B,) -> (B, 1)
    """
    helper.check_tensor(x)
    wanted = [dim] if isinstance(dim, int) else list(dim)
    rank = len(x.shape) + len(wanted)
    if any(not -rank <= d < rank for d in wanted):
        raise ValueError(f"{helper.where()}: dim {dim} out of range for shape {helper.shape(x)}")
    layer = helper.network.add_unsqueeze(x, _axes_tensor(helper, [d % rank for d in wanted]))
    return helper.finish(layer, x).get_output(0)


@op
def addSqueeze(helper: NetworkHelper, x: ITensor, dim: int | list[int]) -> ITensor:
    """``x.squeeze(dim)`` for size-1 dims (``dim`` an int or a list).

    Example:
        >>> y = helper.addSqueeze(y4, 2)                   # (B, C, 1, T) -> (B, C, T)
    """
    helper.check_tensor(x)
    dims = [helper.dim(x, d) for d in ([dim] if isinstance(dim, int) else dim)]
    bad = [d for d in dims if helper.shape(x)[d] not in (1, -1)]
    if bad:
        raise ValueError(f"{helper.where()}: dims {bad} of {helper.shape(x)} are not of size 1")
    return helper.finish(helper.network.add_squeeze(x, _axes_tensor(helper, dims)), x).get_output(0)
