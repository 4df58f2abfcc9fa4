"""Binary elementwise ops with numpy-style broadcasting; python numbers become constants of the other operand's
dtype."""

from __future__ import annotations

from ..core import ITensor, NetworkHelper, op
from .constant import scalar_like
from .squeeze import addUnsqueeze

Operand = ITensor | float | int


def broadcast_ranks(helper: NetworkHelper, a: ITensor, b: ITensor) -> tuple[ITensor, ITensor]:
    """Prepend unit dims to the lower-rank operand (TensorRT needs equal ranks)."""
    ra, rb = len(a.shape), len(b.shape)
    if ra < rb:
        a = addUnsqueeze(helper, a, list(range(rb - ra)), name="broadcast")
    elif rb < ra:
        b = addUnsqueeze(helper, b, list(range(ra - rb)), name="broadcast")
    return a, b


def elementwise(helper: NetworkHelper, a: Operand, b: Operand, operation: str) -> ITensor:
    """One IElementWiseLayer ``operation`` (a ``trt.ElementWiseOperation`` name) on broadcast operands."""
    if not helper.is_tensor(a):
        if not helper.is_tensor(b):
            raise TypeError(
                f"{helper.where()}: first operand must be a network tensor (ITensor), got {type(a).__name__}"
            )
        a = scalar_like(helper, a, b)
    if not helper.is_tensor(b):
        b = scalar_like(helper, b, a)
    if a.dtype != b.dtype:
        raise TypeError(
            f"{helper.where()}: operands have different dtypes {helper.torch_dtype(a)} {helper.shape(a)} "
            f"and {helper.torch_dtype(b)} {helper.shape(b)}; cast one with addCast"
        )
    a, b = broadcast_ranks(helper, a, b)
    for x, y in zip(helper.shape(a), helper.shape(b)):
        if x != y and -1 not in (x, y) and 1 not in (x, y):
            raise ValueError(f"{helper.where()}: shapes {helper.shape(a)} and {helper.shape(b)} do not broadcast")
    layer = helper.network.add_elementwise(a, b, getattr(helper.trt.ElementWiseOperation, operation))
    return helper.finish(layer, a, b).get_output(0)


@op
def addAdd(helper: NetworkHelper, a: Operand, b: Operand) -> ITensor:
    """``a + b``.

    Example:
        >>> y = helper.addAdd(x, 1.0)
    """
    return elementwise(helper, a, b, "SUM")


@op
def addSub(helper: NetworkHelper, a: Operand, b: Operand) -> ITensor:
    """``a - b``."""
    return elementwise(helper, a, b, "SUB")


@op
def addMul(helper: NetworkHelper, a: Operand, b: Operand) -> ITensor:
    """``a * b``."""
    return elementwise(helper, a, b, "PROD")


@op
def addDiv(helper: NetworkHelper, a: Operand, b: Operand) -> ITensor:
    """``a / b`` (floating tensors; use :meth:`addFloorDiv` for integers)."""
    helper.check_float(a if helper.is_tensor(a) else b)
    return elementwise(helper, a, b, "DIV")


@op
def addFloorDiv(helper: NetworkHelper, a: Operand, b: Operand) -> ITensor:
    """``a // b`` (rounds toward minus infinity, like torch)."""
    return elementwise(helper, a, b, "FLOOR_DIV")


@op
def addPow(helper: NetworkHelper, a: Operand, b: Operand) -> ITensor:
    """``a ** b``."""
    return elementwise(helper, a, b, "POW")


@op
def addMaximum(helper: NetworkHelper, a: Operand, b: Operand) -> ITensor:
    """``torch.maximum(a, b)``."""
    return elementwise(helper, a, b, "MAX")


@op
def addMinimum(helper: NetworkHelper, a: Operand, b: Operand) -> ITensor:
    """``torch.minimum(a, b)``."""
    return elementwise(helper, a, b, "MIN")


@op
def addEqual(helper: NetworkHelper, a: Operand, b: Operand) -> ITensor:
    """``a == b`` (bool)."""
    return elementwise(helper, a, b, "EQUAL")


@op
def addGreater(helper: NetworkHelper, a: Operand, b: Operand) -> ITensor:
    """``a > b`` (bool)."""
    return elementwise(helper, a, b, "GREATER")


@op
def addLess(helper: NetworkHelper, a: Operand, b: Operand) -> ITensor:
    """``a < b`` (bool)."""
    return elementwise(helper, a, b, "LESS")


@op
def addAnd(helper: NetworkHelper, a: Operand, b: Operand) -> ITensor:
    """``a & b`` for bool tensors."""
    return elementwise(helper, a, b, "AND")


@op
def addOr(helper: NetworkHelper, a: Operand, b: Operand) -> ITensor:
    """``a | b`` for bool tensors."""
    return elementwise(helper, a, b, "OR")
