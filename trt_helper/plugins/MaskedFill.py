"""MaskedFill plugin: ``x.masked_fill(t >= lengths[b], value)`` for (B, C, T) or (B, T, C) activations.

Inputs x fp32/fp16/bf16 and lengths int32 (B,); fields ``fill`` (float32) and ``layout`` (int32: 0 = BCT,
1 = BTC); output like x.
"""

from __future__ import annotations

import torch

from ..core import ITensor, NetworkHelper, op
from ..ops.masks import time_mask
from ..ops.where import addWhere
from .common import pad_mask
from .library import add_plugin_layer, resolve_impl

NAME = "MaskedFill"
EXAMPLE = ({"fill": 0.0, "layout": 0}, [((2, 8, 5), "float16"), ((2,), "int32")], [((2, 8, 5), "float16")])
BAD_FIELDS = [
    ({"fill": 0.0}, "missing"),
    ({"fill": 0.0, "layout": 2}, "layout"),
    ({"fill": 0.0, "layout": 1.0}, "INT32"),
]
LAYOUTS = {"BCT": 0, "BTC": 1}


def reference(x: torch.Tensor, lengths: torch.Tensor, value: float, layout: int) -> torch.Tensor:
    """layout 0: x (B, C, T); layout 1: x (B, T, C); float64."""
    time = x.shape[2] if layout == 0 else x.shape[1]
    invalid = ~pad_mask(lengths, time)
    invalid = invalid[:, None, :] if layout == 0 else invalid[:, :, None]
    return x.double().masked_fill(invalid, value)


@op
def addMaskedFill(
    helper: NetworkHelper, x: ITensor, lengths: ITensor, value: float, layout: str = "BCT", impl: str | None = None
) -> ITensor:
    """``x.masked_fill(t >= lengths[b], value)`` for x (B, C, T) (``layout="BCT"``) or (B, T, C) (``"BTC"``).

    Example:
        >>> x = helper.addMaskedFill(x, lengths, 0.0, layout="BCT")   # the conformer conv module's padding
    """
    helper.check_rank(x, (3,))
    helper.check_float(x)
    helper.check_lengths(lengths)
    if layout not in LAYOUTS:
        raise ValueError(f"{helper.where()}: layout must be 'BCT' or 'BTC', got {layout!r}")
    value = float(value)
    if resolve_impl(helper, impl) == "plugin":
        return add_plugin_layer(helper, NAME, {"fill": value, "layout": LAYOUTS[layout]}, [x, lengths])[0]
    return addWhere(helper, time_mask(helper, lengths, x, 2 if layout == "BCT" else 1), x, value)
