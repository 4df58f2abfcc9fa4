"""torch.nn.RMSNorm (LLaMA's pre-normalisation), in an fp32 island inside fp16/bf16 networks."""

from __future__ import annotations

import torch
from torch import nn

from ..core import ITensor, NetworkHelper, leaf, op
from .binary import addAdd, addDiv, addMul
from .cast import in_fp32
from .constant import addConstant
from .reduce import addMean
from .unary import addSqrt


@op(module=nn.RMSNorm)
def addRMSNorm(helper: NetworkHelper, module: nn.RMSNorm, x: ITensor) -> ITensor:
    """``module(x)`` for ``torch.nn.RMSNorm``: ``x / sqrt(mean(x², normalized dims) + eps) * weight``.

    ``eps`` is honoured (None means ``torch.finfo(x.dtype).eps``, as torch does). Inside fp16/bf16 networks the
    normalisation runs in fp32 (``fp32_islands``) and is cast back before the weight is applied (Hugging Face's
    LlamaRMSNorm order).

    Example:
        >>> h = helper.addRMSNorm(self.input_layernorm, x)
    """
    helper.check_float(x)
    shape = tuple(module.normalized_shape)
    if len(x.shape) < len(shape) or any(a != b and a != -1 for a, b in zip(helper.shape(x)[-len(shape) :], shape)):
        raise ValueError(f"{helper.where()}: input shape {helper.shape(x)} does not end with normalized_shape {shape}")
    dtype = helper.torch_dtype(x)
    eps = torch.finfo(dtype).eps if module.eps is None else float(module.eps)
    dims = list(range(len(x.shape) - len(shape), len(x.shape)))

    def normalise(t: ITensor) -> ITensor:
        mean_square = addMean(helper, addMul(helper, t, t, name="square"), dims, keepdim=True)
        rms = addSqrt(helper, addAdd(helper, mean_square, eps, name="eps"))
        return addDiv(helper, t, rms, name="normalise")

    out = in_fp32(helper, x, normalise)
    if module.weight is None:
        return out
    weight = module.weight.detach().reshape((1,) * (len(x.shape) - len(shape)) + shape)
    return addMul(helper, out, addConstant(helper, weight, dtype=dtype, name="weight"), name="scale")


leaf(nn.RMSNorm, addRMSNorm)
