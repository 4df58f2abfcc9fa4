"""Smooth activations: Softplus, Softsign, Mish, Hardsigmoid, Hardswish, Tanhshrink, LogSigmoid."""

from __future__ import annotations

from torch import nn

from ..core import ITensor, NetworkHelper, leaf, op
from .activations import activation, addTanh
from .binary import addGreater, addMinimum, addMul, addSub
from .unary import addAbs
from .where import addWhere


@op
def addSoftplus(helper: NetworkHelper, x: ITensor, beta: float = 1.0, threshold: float = 20.0) -> ITensor:
    """``torch.nn.functional.softplus(x, beta, threshold)``: ``log(1 + exp(beta * x)) / beta``, and ``x`` where
    ``beta * x > threshold``.

    Example:
        >>> y = helper.addSoftplus(x, beta=2.0)
    """
    if beta == 0:
        raise ValueError(f"{helper.where()}: beta must be non-zero")
    soft = activation(helper, x, "SOFTPLUS", alpha=1.0 / beta, beta=float(beta))
    scaled = x if beta == 1 else addMul(helper, x, float(beta), name="scaled")
    return addWhere(helper, addGreater(helper, scaled, float(threshold)), x, soft)


@op
def addSoftsign(helper: NetworkHelper, x: ITensor) -> ITensor:
    """``torch.nn.functional.softsign(x)`` = ``x / (1 + |x|)``.

    Example:
        >>> y = helper.addSoftsign(x)
    """
    return activation(helper, x, "SOFTSIGN")


@op
def addMish(helper: NetworkHelper, x: ITensor) -> ITensor:
    """``torch.nn.functional.mish(x)`` = ``x * tanh(softplus(x))``.

    Example:
        >>> y = helper.addMish(x)
    """
    return addMul(helper, x, addTanh(helper, addSoftplus(helper, x)))


@op
def addHardsigmoid(helper: NetworkHelper, x: ITensor) -> ITensor:
    """``torch.nn.functional.hardsigmoid(x)`` = ``clamp(x / 6 + 1 / 2, 0, 1)``.

    Example:
        >>> gate = helper.addHardsigmoid(x)
    """
    return activation(helper, x, "HARD_SIGMOID", alpha=1.0 / 6.0, beta=0.5)


@op
def addHardswish(helper: NetworkHelper, x: ITensor) -> ITensor:
    """``torch.nn.functional.hardswish(x)`` = ``x * hardsigmoid(x)``.

    Example:
        >>> y = helper.addHardswish(x)
    """
    return addMul(helper, x, addHardsigmoid(helper, x))


@op
def addTanhshrink(helper: NetworkHelper, x: ITensor) -> ITensor:
    """``torch.nn.functional.tanhshrink(x)`` = ``x - tanh(x)``.

    Example:
        >>> y = helper.addTanhshrink(x)
    """
    return addSub(helper, x, addTanh(helper, x))


@op
def addLogSigmoid(helper: NetworkHelper, x: ITensor) -> ITensor:
    """``torch.nn.functional.logsigmoid(x)``, computed stably as ``min(x, 0) - log(1 + exp(-|x|))``.

    Example:
        >>> y = helper.addLogSigmoid(x)
    """
    helper.check_float(x)
    tail = activation(helper, addAbs(helper, x), "SOFTPLUS", alpha=1.0, beta=-1.0)
    return addSub(helper, addMinimum(helper, x, 0.0), tail)


leaf(nn.Softplus, lambda helper, module, x: addSoftplus(helper, x, module.beta, module.threshold))
leaf(nn.Softsign, lambda helper, module, x: addSoftsign(helper, x))
leaf(nn.Mish, lambda helper, module, x: addMish(helper, x))
leaf(nn.Hardsigmoid, lambda helper, module, x: addHardsigmoid(helper, x))
leaf(nn.Hardswish, lambda helper, module, x: addHardswish(helper, x))
leaf(nn.Tanhshrink, lambda helper, module, x: addTanhshrink(helper, x))
leaf(nn.LogSigmoid, lambda helper, module, x: addLogSigmoid(helper, x))
