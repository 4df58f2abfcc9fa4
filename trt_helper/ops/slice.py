"""Slicing along one dim with python semantics; run-time bounds allowed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import torch

from ..core import ITensor, NetworkHelper, op
from .binary import addAdd, addFloorDiv, addMaximum, addMinimum, addSub
from .cast import addCast
from .shape_of import Dim, addShapeOf, dims_of, shape_tensor
from .squeeze import addSqueeze


@op
def addSlice(
    helper: NetworkHelper, x: ITensor, dim: int, start: Dim = 0, end: Dim | None = None, step: int = 1
) -> ITensor:
    """``x[..., start:end:step, ...]`` along ``dim`` with python semantics (negative and out-of-range bounds
    clamp). ``start``/``end`` may be int scalar tensors (taken as non-negative, ``end`` clamped to the dim's
    size). ``step`` must be a positive int.

    Example:
        >>> pos = helper.addSlice(table, 1, 0, helper.addShapeOf(x, 1))          # table[:, :T]
    """
    helper.check_tensor(x)
    dim = helper.dim(x, dim)
    if not isinstance(step, int) or step < 1:
        raise ValueError(f"{helper.where()}: step must be a positive int, got {step!r}")
    length = helper.shape(x)[dim]
    if not helper.is_tensor(start) and not helper.is_tensor(end) and length != -1:
        picked = range(length)[slice(start, end, step)]
        return slice_dims(helper, x, [dim], [picked.start if len(picked) else 0], [len(picked)], [step])
    size_now = addShapeOf(helper, x, dim)
    begin = _clamp_bound(helper, start, size_now)
    stop = size_now if end is None else _clamp_bound(helper, end, size_now)
    span = addMaximum(helper, addSub(helper, stop, begin), 0, name="span")
    size = span if step == 1 else addFloorDiv(helper, addAdd(helper, span, step - 1), step, name="size")
    return slice_dims(helper, x, [dim], [begin], [size], [step])


def _clamp_bound(helper: NetworkHelper, bound: Dim, length: ITensor) -> ITensor:
    if helper.is_tensor(bound):
        value = addCast(helper, bound, torch.int64)
        if len(value.shape) == 1:
            value = addSqueeze(helper, value, 0)
        return addMinimum(helper, value, length, name="bound")
    if bound < 0:
        return addMaximum(helper, addAdd(helper, length, int(bound)), 0, name="bound")
    return addMinimum(helper, length, int(bound), name="bound")


def _static(helper: NetworkHelper, values: Sequence[Dim]) -> bool:
    return not any(helper.is_tensor(v) for v in values)


def slice_dims(
    helper: NetworkHelper,
    x: ITensor,
    dims: Sequence[int],
    starts: Sequence[Dim],
    sizes: Sequence[Dim],
    steps: Sequence[int],
    mode: Any = None,
    fill: ITensor | None = None,
) -> ITensor:
    """One ISliceLayer over ``dims`` of ``x`` (starts/sizes may mix ints and int scalar tensors). Where the
    backend's slice layer has no ``axes``, every dim is listed (run-time sizes from the shape)."""
    if not hasattr(helper.trt.ISliceLayer, "axes"):
        full = dims_of(helper, x)
        chosen = dict(zip(dims, zip(starts, sizes, steps)))
        starts = [chosen[d][0] if d in chosen else 0 for d in range(len(full))]
        sizes = [chosen[d][1] if d in chosen else full[d] for d in range(len(full))]
        steps = [chosen[d][2] if d in chosen else 1 for d in range(len(full))]
        dims = list(range(len(full)))
    start_tensor = None if _static(helper, starts) else shape_tensor(helper, starts)
    size_tensor = None if _static(helper, sizes) else shape_tensor(helper, sizes)
    count = len(dims)
    static_starts = [0] * count if start_tensor is not None else [int(cast(int, s)) for s in starts]
    static_sizes = [1] * count if size_tensor is not None else [int(cast(int, s)) for s in sizes]
    layer = helper.network.add_slice(x, static_starts, static_sizes, [int(s) for s in steps])
    if layer is None:
        return helper.finish(layer, x)
    if hasattr(layer, "axes"):
        layer.axes = tuple(dims)
    if start_tensor is not None:
        layer.set_input(1, start_tensor)
    if size_tensor is not None:
        layer.set_input(2, size_tensor)
    if mode is not None:
        layer.mode = mode
    if fill is not None:
        layer.set_input(4, fill)
    return helper.finish(layer, x).get_output(0)
