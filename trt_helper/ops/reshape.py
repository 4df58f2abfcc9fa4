"""Reshapes: ``reshape``, ``flatten`` and ``unflatten``, one shuffle layer wherever the shape allows."""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import nn

from ..core import ITensor, NetworkHelper, leaf, op
from .shape_of import Dim, dim_source, dims_of, shape_tensor


def _shuffle(helper: NetworkHelper, x: ITensor, dims: Sequence[int], zero_is_placeholder: bool) -> ITensor:
    layer = helper.network.add_shuffle(x)
    if layer is not None:
        layer.zero_is_placeholder = zero_is_placeholder
        layer.reshape_dims = tuple(dims)
    return helper.finish(layer, x).get_output(0)


@op
def addReshape(helper: NetworkHelper, x: ITensor, shape: Sequence[Dim]) -> ITensor:
    """``x.reshape(shape)``; entries are ints (one may be -1) or int scalar tensors (``addShapeOf``).

    Example:
        >>> y = helper.addReshape(x, (helper.addShapeOf(x, 0), -1, 8, 64))
    """
    helper.check_tensor(x)
    shape = list(shape)
    static = [d for d in shape if not helper.is_tensor(d)]
    if static.count(-1) > 1:
        raise ValueError(f"{helper.where()}: at most one -1 in {shape}")
    known = helper.shape(x)
    if len(static) == len(shape) and -1 not in known:
        total, fixed = math.prod(known), math.prod(d for d in static if d != -1)
        if (-1 in static and (fixed == 0 or total % fixed)) or (-1 not in static and fixed != total):
            raise ValueError(f"{helper.where()}: cannot reshape {tuple(known)} to {tuple(shape)}")
    if len(static) == len(shape):
        return _shuffle(helper, x, static, zero_is_placeholder=False)
    placeholders = _as_placeholders(helper, x, shape)
    if placeholders is not None:
        return _shuffle(helper, x, placeholders, zero_is_placeholder=True)  # 0 copies the input's dim
    layer = helper.network.add_shuffle(x)
    layer.zero_is_placeholder = False
    layer.set_input(1, shape_tensor(helper, shape))
    return helper.finish(layer, x).get_output(0)


def _as_placeholders(helper: NetworkHelper, x: ITensor, shape: list[Dim]) -> tuple[int, ...] | None:
    """Static reshape dims for ``shape`` when each run-time entry is ``x``'s own dim at the same position (0 =
    copy it) or is the only one left (-1 = infer it); None when that cannot express ``shape``."""
    if any(not helper.is_tensor(d) and d == 0 for d in shape):
        return None
    dims: list[int] = []
    unresolved = []
    for position, d in enumerate(shape):
        if helper.is_tensor(d):
            if dim_source(helper, d) == (x.name, position):
                dims.append(0)
                continue
            unresolved.append(position)
            dims.append(-1)
        else:
            dims.append(int(d))
    if len(unresolved) > 1 or (unresolved and dims.count(-1) > 1):
        return None
    return tuple(dims)


def _regroup(helper: NetworkHelper, x: ITensor, begin: int, end: int, middle: list[int]) -> ITensor:
    """Replace dims ``begin:end`` of ``x`` by ``middle``; leading dims are copied with 0 placeholders."""
    trailing = list(helper.shape(x)[end:])
    if -1 not in trailing and not (-1 in middle and 0 in middle) and 0 not in trailing:
        return _shuffle(helper, x, [0] * begin + middle + trailing, zero_is_placeholder=True)
    dims = dims_of(helper, x)
    return addReshape(helper, x, dims[:begin] + list(middle) + dims[end:])


@op
def addFlatten(helper: NetworkHelper, x: ITensor, start_dim: int = 0, end_dim: int = -1) -> ITensor:
    """``torch.flatten(x, start_dim, end_dim)``; one shuffle layer when the dims after ``end_dim`` are static.

    Example:
        >>> context = helper.addFlatten(helper.addTranspose(heads, 1, 2), 2)    # (B, T, H, d) -> (B, T, H*d)
    """
    helper.check_tensor(x)
    start, end = helper.dim(x, start_dim), helper.dim(x, end_dim)
    if start > end:
        raise ValueError(f"{helper.where()}: start_dim {start_dim} is after end_dim {end_dim} for {helper.shape(x)}")
    return _regroup(helper, x, start, end + 1, [-1])


@op
def addUnflatten(helper: NetworkHelper, x: ITensor, dim: int, sizes: Sequence[int]) -> ITensor:
    """``torch.unflatten(x, dim, sizes)`` (one entry of ``sizes`` may be -1); one shuffle layer when the dims
    after ``dim`` are static.

    Example:
        >>> heads = helper.addUnflatten(q, -1, (8, 64))                          # (B, T, 512) -> (B, T, 8, 64)
    """
    helper.check_tensor(x)
    dim = helper.dim(x, dim)
    sizes = [int(s) for s in sizes]
    size = helper.shape(x)[dim]
    fixed = math.prod(s for s in sizes if s != -1)
    if sizes.count(-1) > 1 or (size != -1 and (size % fixed if -1 in sizes else size != fixed)):
        raise ValueError(f"{helper.where()}: cannot unflatten dim {dim} of {helper.shape(x)} into {sizes}")
    return _regroup(helper, x, dim, dim + 1, sizes)


leaf(nn.Flatten, lambda helper, module, x: addFlatten(helper, x, module.start_dim, module.end_dim))
leaf(nn.Unflatten, lambda helper, module, x: addUnflatten(helper, x, module.dim, module.unflattened_size))
