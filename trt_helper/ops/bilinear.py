"""torch.nn.Bilinear."""

from __future__ import annotations

from torch import nn

from ..core import ITensor, NetworkHelper, leaf, op
from .binary import addAdd, addMul
from .constant import addConstant
from .linear import check_features
from .matmul import addMatMul
from .reduce import addSum
from .reshape import addUnflatten
from .squeeze import addUnsqueeze


@op(module=nn.Bilinear)
def addBilinear(helper: NetworkHelper, module: nn.Bilinear, x1: ITensor, x2: ITensor) -> ITensor:
    """``module(x1, x2)`` for ``torch.nn.Bilinear``: ``y_o = x1 · A_o · x2 + b_o`` for x1 (…, in1), x2 (…, in2), as
    one matrix product with A laid out (in1, out·in2), a product with x2 and a sum.

    Example:
        >>> y = helper.addBilinear(self.bilinear, a, b)
    """
    helper.check_rank(x1, range(2, 9), "x1")
    helper.check_rank(x2, range(2, 9), "x2")
    check_features(helper, x1, -1, module.in1_features, "features")
    check_features(helper, x2, -1, module.in2_features, "features")
    out, in1, in2 = module.weight.shape
    dtype, rank = helper.torch_dtype(x1), len(x1.shape)
    weight = module.weight.detach().permute(1, 0, 2).reshape((1,) * (rank - 2) + (in1, out * in2))
    left = addMatMul(helper, x1, addConstant(helper, weight, dtype=dtype, name="weight"))  # (…, out·in2)
    pairs = addMul(helper, addUnflatten(helper, left, -1, (out, in2)), addUnsqueeze(helper, x2, -2))
    y = addSum(helper, pairs, -1)
    if module.bias is None:
        return y
    return addAdd(
        helper, y, addConstant(helper, module.bias.reshape((1,) * (rank - 1) + (out,)), dtype=dtype, name="bias")
    )


leaf(nn.Bilinear, addBilinear)
