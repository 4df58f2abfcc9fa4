"""Softmax, log-softmax and softmin (and their torch.nn modules), in fp32 islands inside fp16/bf16 networks."""

from __future__ import annotations

from torch import nn

from ..core import ITensor, NetworkHelper, leaf, op
from .binary import addSub
from .cast import in_fp32
from .reduce import addMax, addSum
from .unary import addExp, addLog, addNeg


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


@op
def addSoftmin(helper: NetworkHelper, x: ITensor, dim: int) -> ITensor:
    """``torch.softmin(x, dim)`` = ``softmax(-x, dim)``.

    Example:
        >>> weights = helper.addSoftmin(distances, -1)
    """
    return addSoftmax(helper, addNeg(helper, x), dim)


def _dim(helper: NetworkHelper, module: nn.Softmax | nn.LogSoftmax | nn.Softmin) -> int:
    if module.dim is None:
        raise ValueError(
            f"helper(module) at '{helper.current_path()}': {type(module).__name__}(dim=None) picks the "
            f"dim implicitly from the input rank; give dim explicitly"
        )
    return module.dim


leaf(nn.Softmax, lambda helper, module, x: addSoftmax(helper, x, _dim(helper, module)))
leaf(nn.LogSoftmax, lambda helper, module, x: addLogSoftmax(helper, x, _dim(helper, module)))
leaf(nn.Softmin, lambda helper, module, x: addSoftmin(helper, x, _dim(helper, module)))
leaf(nn.Softmax2d, lambda helper, module, x: addSoftmax(helper, x, -3))
