"""Softmax and log-softmax, in fp32 islands inside fp16/bf16 networks."""

from __future__ import annotations

from ..core import ITensor, NetworkHelper, op
from .binary import addSub
from .cast import in_fp32
from .reduce import addMax, addSum
from .unary import addExp, addLog


@op
def addSoftmax(helper: NetworkHelper, x: ITensor, dim: int) -> ITensor:
    """``torch.softmax(x, dim)``; computed in fp32 inside fp16/bf16 networks (``fp32_islands``).

    Example:
        >>> probs = helper.addSoftmax(scores, -1)
    """
    helper.check_float(x)
    axes = helper.axes(x, dim)

    def softmax(t: ITensor) -> ITensor:
        layer = helper.network.add_softmax(t)
        if layer is not None:
            layer.axes = axes
        return helper.finish(layer, t).get_output(0)

    return in_fp32(helper, x, softmax)


@op
def addLogSoftmax(helper: NetworkHelper, x: ITensor, dim: int) -> ITensor:
    """``torch.log_softmax(x, dim)`` as ``x - max - log(sum(exp(x - max)))``, in fp32 islands like softmax."""
    helper.check_float(x)
    dim = helper.dim(x, dim)

    def log_softmax(t: ITensor) -> ITensor:
        shifted = addSub(helper, t, addMax(helper, t, dim, keepdim=True), name="shift")
        total = addSum(helper, addExp(helper, shifted), dim, keepdim=True)
        return addSub(helper, shifted, addLog(helper, total))

    return in_fp32(helper, x, log_softmax)
