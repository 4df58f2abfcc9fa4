"""Padding (and cropping) of trailing dims: constant, reflect, replicate and circular modes, and the torch.nn pad
modules."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..core import ITensor, NetworkHelper, leaf, op
from .binary import addAdd
from .constant import addConstant
from .shape_of import Dim, addShapeOf
from .slice import slice_dims

#: torch's pad mode -> TensorRT's slice mode
MODES = {"constant": "FILL", "reflect": "REFLECT", "replicate": "CLAMP", "circular": "WRAP"}


@op
def addPad(
    helper: NetworkHelper, x: ITensor, pad: Sequence[int], value: float = 0.0, mode: str = "constant"
) -> ITensor:
    """``torch.nn.functional.pad(x, pad, mode, value)``: ``pad`` lists (before, after) pairs starting from the last
    dim; negative amounts crop. ``mode``: ``"constant"`` (fill with ``value``), ``"reflect"`` (mirror without the
    edge; each amount below the dim's size), ``"replicate"`` (repeat the edge) or ``"circular"`` (wrap around).
    One slice layer.

    Example:
        >>> x = helper.addPad(x, (self.lorder, 0))              # causal left padding of the time dim
        >>> y = helper.addPad(image, (1, 1, 1, 1), mode="reflect")
    """
    helper.check_tensor(x)
    if mode not in MODES:
        raise ValueError(f"{helper.where()}: mode={mode!r}; expected one of {list(MODES)}")
    pad = list(pad)
    rank = len(x.shape)
    if len(pad) % 2 or len(pad) // 2 > rank:
        raise ValueError(f"{helper.where()}: pad {pad} needs (before, after) pairs for at most {rank} dims")
    amounts = {rank - 1 - i: (pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2) if pad[2 * i] or pad[2 * i + 1]}
    if not amounts:
        return x
    dims = sorted(amounts)
    sizes: list[Dim] = []
    for d in dims:
        size, extra = helper.shape(x)[d], sum(amounts[d])
        if mode == "reflect" and size != -1 and max(amounts[d]) >= size:
            raise ValueError(
                f"{helper.where()}: reflect padding {amounts[d]} of dim {d} must be below its size "
                f"(shape {helper.shape(x)})"
            )
        if size != -1:
            sizes.append(size + extra)
        else:
            sizes.append(
                addAdd(helper, addShapeOf(helper, x, d), extra, name="size") if extra else addShapeOf(helper, x, d)
            )
    fill = None
    if mode == "constant":
        host = helper.torch_dtype(x) if helper.torch_dtype(x) != torch.bfloat16 else torch.float32
        fill = addConstant(
            helper, torch.tensor(value, dtype=torch.float64).to(host), dtype=helper.torch_dtype(x), name="value"
        )
    return slice_dims(
        helper,
        x,
        dims,
        [-amounts[d][0] for d in dims],
        sizes,
        [1] * len(dims),
        mode=getattr(helper.trt.SampleMode, MODES[mode]),
        fill=fill,
    )


def _pad_module(mode: str, spatial: int):
    """The leaf for a torch.nn pad module of ``mode`` over ``spatial`` trailing dims (input rank spatial+1 or +2)."""

    def add(helper: NetworkHelper, module: nn.Module, x: ITensor) -> ITensor:
        helper.check_rank(x, (spatial + 1, spatial + 2))
        return addPad(helper, x, module.padding, getattr(module, "value", 0.0), mode=mode)

    return add


leaf(nn.ZeroPad1d, _pad_module("constant", 1))
leaf(nn.ZeroPad2d, _pad_module("constant", 2))
leaf(nn.ZeroPad3d, _pad_module("constant", 3))
leaf(nn.ConstantPad1d, _pad_module("constant", 1))
leaf(nn.ConstantPad2d, _pad_module("constant", 2))
leaf(nn.ConstantPad3d, _pad_module("constant", 3))
leaf(nn.ReflectionPad1d, _pad_module("reflect", 1))
leaf(nn.ReflectionPad2d, _pad_module("reflect", 2))
leaf(nn.ReflectionPad3d, _pad_module("reflect", 3))
leaf(nn.ReplicationPad1d, _pad_module("replicate", 1))
leaf(nn.ReplicationPad2d, _pad_module("replicate", 2))
leaf(nn.ReplicationPad3d, _pad_module("replicate", 3))
leaf(nn.CircularPad1d, _pad_module("circular", 1))
leaf(nn.CircularPad2d, _pad_module("circular", 2))
leaf(nn.CircularPad3d, _pad_module("circular", 3))
