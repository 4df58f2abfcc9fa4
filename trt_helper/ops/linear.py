"""torch.nn.Linear."""

from __future__ import annotations

from torch import nn

from ..core import ITensor, NetworkHelper, leaf, op
from .binary import addAdd
from .constant import addConstant
from .matmul import addMatMul


def check_features(helper: NetworkHelper, x: ITensor, dim: int, expected: int, what: str) -> None:
    """Dim ``dim`` of ``x`` (when static) is the module's ``expected`` size."""
    size = helper.shape(x)[dim]
    if size != -1 and size != expected:
        raise ValueError(f"{helper.where()}: input shape {helper.shape(x)} has {size} {what} in dim {dim}, "
                         f"the module expects {expected}")


@op(module=nn.Linear)
def addLinear(helper: NetworkHelper, module: nn.Linear, x: ITensor) -> ITensor:
    """``module(x)`` for ``torch.nn.Linear``: ``x @ W.T + b`` for x of rank >= 2 (…, in_features).

    Example:
        >>> h = helper.addLinear(self.w_1, x)                  # layers named like self.w_1's module path
    """
    helper.check_rank(x, range(2, 9))
    helper.check_float(x)
    check_features(helper, x, -1, module.in_features, "features")
    rank, dtype = len(x.shape), helper.torch_dtype(x)
    weight = addConstant(helper, module.weight.reshape((1,) * (rank - 2) + tuple(module.weight.shape)), dtype=dtype,
                         name="weight")
    out = addMatMul(helper, x, weight, transpose_b=True)
    if module.bias is None:
        return out
    bias = addConstant(helper, module.bias.reshape((1,) * (rank - 1) + (-1,)), dtype=dtype, name="bias")
    return addAdd(helper, out, bias)


leaf(nn.Linear, addLinear)
