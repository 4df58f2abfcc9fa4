"""Constants: tensors, arrays and python numbers baked into the network."""

from __future__ import annotations

from typing import Any

import torch

from ..core import ITensor, NetworkHelper, op
from .cast import addCast


@op
def addConstant(helper: NetworkHelper, value: Any, dtype: torch.dtype | None = None) -> ITensor:
    """A constant tensor from a torch tensor, numpy array or python number. Floating values are cast to
    ``dtype`` (default: the network dtype). A tensor already in that dtype is used in place (no copy); the
    helper keeps it alive until the plan is built. Small constants (≤ 16 values) are made once per network.

    Example:
        >>> bias = helper.addConstant(module.bias, name="bias")
    """
    tensor = value.detach() if isinstance(value, torch.Tensor) else torch.as_tensor(value)
    if dtype is None:
        dtype = helper.dtype if tensor.is_floating_point() else tensor.dtype
    host_dtype = torch.float32 if dtype == torch.bfloat16 else dtype  # numpy has no bf16: cast in the network
    key = None
    if tensor.numel() <= 16:
        key = ("constant", str(dtype), tuple(tensor.shape), helper.host_tensor(tensor, dtype).numpy().tobytes())
        cached = helper.memo(key)
        if cached is not None:
            return cached
    weights = helper.weights(tensor, host_dtype)
    layer = helper.finish(helper.network.add_constant(tuple(tensor.shape), weights))
    helper.name_weights(weights, layer.name)
    out = layer.get_output(0)
    out = addCast(helper, out, dtype)
    return helper.memo(key, lambda: out) if key is not None else out


def scalar_like(helper: NetworkHelper, value: float | int, like: ITensor) -> ITensor:
    """A python number as a constant of ``like``'s dtype and rank (for broadcasting)."""
    dtype = helper.torch_dtype(like)
    if dtype == torch.bool or (not dtype.is_floating_point and not float(value).is_integer()):
        raise TypeError(f"{helper.where()}: cannot combine {dtype} tensor of shape {helper.shape(like)} with {value!r}")
    host = torch.float32 if dtype == torch.bfloat16 else dtype
    number = torch.full((1,) * len(like.shape), value, dtype=torch.float64).to(host)
    return addConstant(helper, number, dtype=dtype, name="scalar")
