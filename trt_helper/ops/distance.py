"""torch.nn.CosineSimilarity and PairwiseDistance."""

from __future__ import annotations

from torch import nn

from ..core import ITensor, NetworkHelper, leaf, op
from .binary import addAdd, addDiv, addMaximum, addMul, addPow, addSub
from .reduce import addMax, addSum
from .unary import addAbs, addSqrt


@op
def addCosineSimilarity(helper: NetworkHelper, x1: ITensor, x2: ITensor, dim: int = 1, eps: float = 1e-8) -> ITensor:
    """``torch.nn.functional.cosine_similarity(x1, x2, dim, eps)``: ``x1·x2 / (max(|x1|, eps) · max(|x2|, eps))``
    along ``dim`` (removed), inputs broadcast.

    Example:
        >>> scores = helper.addCosineSimilarity(queries, keys, dim=-1)
    """
    helper.check_float(x1, "x1")
    helper.check_float(x2, "x2")
    dot = addSum(helper, addMul(helper, x1, x2), dim, name="dot")
    norms = [
        addMaximum(helper, addSqrt(helper, addSum(helper, addMul(helper, t, t), dim)), float(eps), name=f"norm{i}")
        for i, t in ((1, x1), (2, x2))
    ]
    return addDiv(helper, dot, addMul(helper, norms[0], norms[1]))


@op
def addPairwiseDistance(
    helper: NetworkHelper, x1: ITensor, x2: ITensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> ITensor:
    """``torch.nn.functional.pairwise_distance(x1, x2, p, eps, keepdim)``: the p-norm of ``x1 - x2 + eps`` over the
    last dim (p > 0, or ``inf``).

    Example:
        >>> distance = helper.addPairwiseDistance(anchor, positive)
    """
    helper.check_float(x1, "x1")
    helper.check_float(x2, "x2")
    if not p > 0:
        raise ValueError(f"{helper.where()}: p={p} is not supported (p > 0 or inf)")
    size = addAbs(helper, addAdd(helper, addSub(helper, x1, x2), float(eps)), name="difference")
    if p == float("inf"):
        return addMax(helper, size, -1, keepdim=keepdim)
    if p == 2:
        return addSqrt(helper, addSum(helper, addMul(helper, size, size), -1, keepdim=keepdim))
    return addPow(helper, addSum(helper, addPow(helper, size, float(p)), -1, keepdim=keepdim), 1.0 / p)


leaf(nn.CosineSimilarity, lambda helper, module, x1, x2: addCosineSimilarity(helper, x1, x2, module.dim, module.eps))
leaf(
    nn.PairwiseDistance,
    lambda helper, module, x1, x2: addPairwiseDistance(helper, x1, x2, module.norm, module.eps, module.keepdim),
)
