"""Reductions over dims: sum, mean, max, min."""

from __future__ import annotations

from collections.abc import Sequence

from ..core import ITensor, NetworkHelper, op

Dims = int | Sequence[int] | None


def reduce(helper: NetworkHelper, x: ITensor, dim: Dims, keepdim: bool, operation: str) -> ITensor:
    """One IReduceLayer ``operation`` (a ``trt.ReduceOperation`` name) over ``dim`` (None = every dim)."""
    helper.check_tensor(x)
    dims = list(range(len(x.shape))) if dim is None else dim
    layer = helper.network.add_reduce(x, getattr(helper.trt.ReduceOperation, operation), helper.axes(x, dims), keepdim)
    return helper.finish(layer, x).get_output(0)


@op
def addSum(helper: NetworkHelper, x: ITensor, dim: Dims = None, keepdim: bool = False) -> ITensor:
    """``torch.sum(x, dim, keepdim)``; ``dim`` is an int, a list, or None for all dims.

    Example:
        >>> total = helper.addSum(x, -1, keepdim=True)
    """
    return reduce(helper, x, dim, keepdim, "SUM")


@op
def addMean(helper: NetworkHelper, x: ITensor, dim: Dims = None, keepdim: bool = False) -> ITensor:
    """``torch.mean(x, dim, keepdim)``."""
    helper.check_float(x)
    return reduce(helper, x, dim, keepdim, "AVG")


@op
def addMax(helper: NetworkHelper, x: ITensor, dim: Dims = None, keepdim: bool = False) -> ITensor:
    """``torch.amax(x, dim, keepdim)`` (values only; :meth:`addTopK` / :meth:`addArgMax` give indices)."""
    return reduce(helper, x, dim, keepdim, "MAX")


@op
def addMin(helper: NetworkHelper, x: ITensor, dim: Dims = None, keepdim: bool = False) -> ITensor:
    """``torch.amin(x, dim, keepdim)``."""
    return reduce(helper, x, dim, keepdim, "MIN")
