"""LayerNorm plugin: ``torch.nn.LayerNorm`` over the last dim; native form INormalizationLayer.

Inputs x (…, D), gamma (D), beta (D) in fp32/fp16/bf16; field ``eps`` (float32, ≥ 0); output like x.
"""

from __future__ import annotations

import torch
from torch import nn

from ..core import ITensor, NetworkHelper, leaf, op
from ..ops.cast import in_fp32
from ..ops.constant import addConstant
from .library import add_plugin_layer, resolve_impl

NAME = "LayerNorm"
#: valid fields, example input (dims, type) list and output list at fp16 (what the plugin tests instantiate)
EXAMPLE = ({"eps": 1e-5}, [((4, 7, 32), "float16"), ((32,), "float16"), ((32,), "float16")], [((4, 7, 32), "float16")])
#: fields the creator must reject, with words its logged reason contains
BAD_FIELDS = [
    ({}, "missing"),
    ({"eps": 1}, "FLOAT32"),
    ({"eps": -1.0}, ">= 0"),
    ({"eps": 1e-5, "dim": 3}, "unknown"),
    ({"eps": ("float32", [1e-5, 1e-6])}, "length"),
]


def reference(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float) -> torch.Tensor:
    """PyTorch's layer_norm over the last dim, in float64."""
    return torch.nn.functional.layer_norm(x.double(), (x.shape[-1],), gamma.double(), beta.double(), eps)


def _affine(module: nn.LayerNorm) -> tuple[torch.Tensor, torch.Tensor]:
    shape = tuple(module.normalized_shape)
    gamma = module.weight if module.weight is not None else torch.ones(shape)
    beta = module.bias if module.bias is not None else torch.zeros(shape)
    return gamma.detach(), beta.detach()


def _native(helper: NetworkHelper, module: nn.LayerNorm, x: ITensor) -> ITensor:
    rank, shape = len(x.shape), tuple(module.normalized_shape)
    gamma, beta = _affine(module)
    lead = (1,) * (rank - len(shape))
    dtype = helper.torch_dtype(x)
    scale = addConstant(helper, gamma.reshape(lead + shape), dtype=dtype, name="gamma")
    bias = addConstant(helper, beta.reshape(lead + shape), dtype=dtype, name="beta")
    axes = sum(1 << d for d in range(rank - len(shape), rank))
    add = getattr(helper.network, "add_normalization_v2", None) or helper.network.add_normalization
    layer = add(x, scale, bias, axes)
    if layer is not None:
        layer.epsilon = float(module.eps)
    return helper.finish(layer, x).get_output(0)


@op(module=nn.LayerNorm)
def addLayerNorm(helper: NetworkHelper, module: nn.LayerNorm, x: ITensor, impl: str | None = None) -> ITensor:
    """``module(x)`` for ``torch.nn.LayerNorm`` (eps honoured). Statistics run in fp32 inside fp16/bf16 networks
    (``fp32_islands``). ``impl``: ``"native"`` (INormalizationLayer), ``"plugin"`` (the LayerNorm plugin, last
    dim only) or ``"auto"`` (native when normalizing several trailing dims); default: the helper's ``impl``.

    Example:
        >>> x = helper.addLayerNorm(self.norm_ff, x)
    """
    helper.check_float(x)
    shape = tuple(module.normalized_shape)
    if len(x.shape) < len(shape) or any(a != b and a != -1 for a, b in zip(helper.shape(x)[-len(shape) :], shape)):
        raise ValueError(f"{helper.where()}: input shape {helper.shape(x)} does not end with normalized_shape {shape}")
    chosen = helper.impl if impl is None else impl
    if len(shape) != 1 and chosen == "auto":  # the plugin normalises the last dim only
        chosen = "native"
    if resolve_impl(helper, chosen) == "native":
        return in_fp32(helper, x, lambda t: _native(helper, module, t))
    if len(shape) != 1:
        raise ValueError(
            f"{helper.where()}: the LayerNorm plugin normalises the last dim only; normalized_shape "
            f"{shape} needs impl='native'"
        )
    dtype = helper.torch_dtype(x)
    gamma, beta = _affine(module)
    inputs = [
        x,
        addConstant(helper, gamma, dtype=dtype, name="gamma"),
        addConstant(helper, beta, dtype=dtype, name="beta"),
    ]
    return add_plugin_layer(helper, NAME, {"eps": float(module.eps)}, inputs)[0]


leaf(nn.LayerNorm, addLayerNorm)
