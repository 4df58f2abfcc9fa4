"""Constant padding (and cropping) of trailing dims."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..core import ITensor, NetworkHelper, op
from .binary import addAdd
from .constant import addConstant
from .shape_of import Dim, addShapeOf
from .slice import slice_dims


@op
def addPad(helper: NetworkHelper, x: ITensor, pad: Sequence[int], value: float = 0.0) -> ITensor:
    """``torch.nn.functional.pad(x, pad, value=value)`` (constant mode; ``pad`` lists (before, after) pairs
    starting from the last dim; negative amounts crop). One fill-mode slice layer.

    Example:
        >>> x = helper.addPad(x, (self.lorder, 0))              # causal left padding of the time dim
    """
    helper.check_tensor(x)
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
        if size != -1:
            sizes.append(size + extra)
        else:
            sizes.append(addAdd(helper, addShapeOf(helper, x, d), extra, name="size") if extra else
                         addShapeOf(helper, x, d))
    host = helper.torch_dtype(x) if helper.torch_dtype(x) != torch.bfloat16 else torch.float32
    fill = addConstant(helper, torch.tensor(value, dtype=torch.float64).to(host), dtype=helper.torch_dtype(x),
                       name="value")
    return slice_dims(helper, x, dims, [-amounts[d][0] for d in dims], sizes, [1] * len(dims),
                      mode=helper.trt.SampleMode.FILL, fill=fill)
