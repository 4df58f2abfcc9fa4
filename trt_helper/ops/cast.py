"""Casts, and fp32 islands (a computation done in fp32 inside an fp16/bf16 network)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..core import ITensor, NetworkHelper, op


@op
def addCast(helper: NetworkHelper, x: ITensor, dtype: torch.dtype) -> ITensor:
    """``x.to(dtype)``; no layer when ``x`` already has that dtype.

    Example:
        >>> h = helper.addCast(x, torch.float16)
    """
    helper.check_tensor(x)
    if helper.torch_dtype(x) == dtype:
        return x
    return helper.finish(helper.network.add_cast(x, helper.trt_dtype(dtype)), x).get_output(0)


def in_fp32(helper: NetworkHelper, x: ITensor, fn: Callable[[ITensor], ITensor]) -> ITensor:
    """``fn(x)`` computed in fp32 when ``x`` is fp16/bf16 and the helper's ``fp32_islands`` is on, cast back."""
    dtype = helper.torch_dtype(x)
    if not helper.fp32_islands or dtype == torch.float32:
        return fn(x)
    return addCast(helper, fn(addCast(helper, x, torch.float32, name="to_fp32")), dtype, name="from_fp32")
