"""Run-time shapes: ``x.shape`` as int64 tensors, and shape vectors mixing python ints and run-time dims.

A run-time dim is a 0-d int64 tensor (``addShapeOf(x, dim)``) and can be used wherever a shape entry or a slice
bound is expected, so dynamic shapes need no special casing in model code.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..core import ITensor, NetworkHelper, op
from .cast import addCast
from .concat import addConcat
from .constant import addConstant
from .squeeze import addUnsqueeze

Dim = ITensor | int


@op
def addShapeOf(helper: NetworkHelper, x: ITensor, dim: int | None = None) -> ITensor:
    """``x.shape`` as a 1-D int64 tensor, or ``x.shape[dim]`` as a 0-d int64 tensor (each made once per
    network).

    Example:
        >>> batch = helper.addShapeOf(x, 0)
        >>> y = helper.addReshape(x, (batch, -1, 8, 64))
    """
    helper.check_tensor(x)
    shape = helper.memo(("shape", x.name), lambda: helper.finish(helper.network.add_shape(x), x).get_output(0))
    if dim is None:
        return shape
    dim = helper.dim(x, dim)

    def gather():
        index = addConstant(helper, torch.tensor(dim, dtype=torch.int64), name="index")
        out = helper.finish(helper.network.add_gather(shape, index, 0), shape).get_output(0)
        helper.memo(("dim_source", out.name), lambda: (x.name, dim))
        return out

    return helper.memo(("shape", x.name, dim), gather)


def dim_source(helper: NetworkHelper, dim: ITensor) -> tuple[str, int] | None:
    """``(tensor name, dim)`` when ``dim`` was made by ``addShapeOf(tensor, dim)``, else None."""
    return helper.memo(("dim_source", dim.name))


def shape_tensor(helper: NetworkHelper, dims: Sequence[Dim]) -> ITensor:
    """A 1-D int64 tensor from a list of python ints and 0-d/1-element int tensors."""
    parts: list[ITensor] = []
    ints: list[int] = []
    for d in dims:
        if not helper.is_tensor(d):
            ints.append(int(d))
            continue
        if ints:
            parts.append(addConstant(helper, torch.tensor(ints, dtype=torch.int64), name="dims"))
            ints = []
        if helper.torch_dtype(d) not in (torch.int32, torch.int64) or len(d.shape) > 1:
            raise TypeError(
                f"{helper.where()}: a run-time dim must be a 0-d or 1-element int tensor, got "
                f"{helper.torch_dtype(d)} {helper.shape(d)}"
            )
        d = addCast(helper, d, torch.int64)
        parts.append(d if len(d.shape) == 1 else addUnsqueeze(helper, d, 0))
    if ints:
        parts.append(addConstant(helper, torch.tensor(ints, dtype=torch.int64), name="dims"))
    return parts[0] if len(parts) == 1 else addConcat(helper, parts, 0, name="shape")


def dims_of(helper: NetworkHelper, x: ITensor) -> list[Dim]:
    """``x``'s dims as python ints where static, int64 scalar tensors where dynamic."""
    return [d if d != -1 else addShapeOf(helper, x, i) for i, d in enumerate(helper.shape(x))]
