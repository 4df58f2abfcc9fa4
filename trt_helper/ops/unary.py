"""Elementwise math, one TensorRT unary layer each."""

from __future__ import annotations

from ..core import ITensor, NetworkHelper, op


def unary(helper: NetworkHelper, x: ITensor, operation: str) -> ITensor:
    """One IUnaryLayer ``operation`` (a ``trt.UnaryOperation`` name); floating inputs except for NOT."""
    if operation == "NOT":
        helper.check_tensor(x)
    else:
        helper.check_float(x)
    layer = helper.network.add_unary(x, getattr(helper.trt.UnaryOperation, operation))
    return helper.finish(layer, x).get_output(0)


@op
def addSqrt(helper: NetworkHelper, x: ITensor) -> ITensor:
    """``torch.sqrt(x)``.

    Example:
        >>> rms = helper.addSqrt(helper.addMean(helper.addMul(x, x), -1, keepdim=True))
    """
    return unary(helper, x, "SQRT")


@op
def addExp(helper: NetworkHelper, x: ITensor) -> ITensor:
    """``torch.exp(x)``."""
    return unary(helper, x, "EXP")


@op
def addLog(helper: NetworkHelper, x: ITensor) -> ITensor:
    """``torch.log(x)``."""
    return unary(helper, x, "LOG")


@op
def addNeg(helper: NetworkHelper, x: ITensor) -> ITensor:
    """``-x``."""
    return unary(helper, x, "NEG")


@op
def addAbs(helper: NetworkHelper, x: ITensor) -> ITensor:
    """``torch.abs(x)``."""
    return unary(helper, x, "ABS")


@op
def addErf(helper: NetworkHelper, x: ITensor) -> ITensor:
    """``torch.erf(x)``."""
    return unary(helper, x, "ERF")


@op
def addRecip(helper: NetworkHelper, x: ITensor) -> ITensor:
    """``1 / x``."""
    return unary(helper, x, "RECIP")


@op
def addFloor(helper: NetworkHelper, x: ITensor) -> ITensor:
    """``torch.floor(x)``."""
    return unary(helper, x, "FLOOR")


@op
def addCeil(helper: NetworkHelper, x: ITensor) -> ITensor:
    """``torch.ceil(x)``."""
    return unary(helper, x, "CEIL")


@op
def addSin(helper: NetworkHelper, x: ITensor) -> ITensor:
    """``torch.sin(x)``."""
    return unary(helper, x, "SIN")


@op
def addCos(helper: NetworkHelper, x: ITensor) -> ITensor:
    """``torch.cos(x)``."""
    return unary(helper, x, "COS")


@op
def addNot(helper: NetworkHelper, x: ITensor) -> ITensor:
    """``~x`` for a bool tensor."""
    return unary(helper, x, "NOT")
