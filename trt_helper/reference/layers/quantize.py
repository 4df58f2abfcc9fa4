"""Quantize, dequantize and dynamic quantize (IQuantizeLayer, IDequantizeLayer, IDynamicQuantizeLayer).

Scales are per tensor (a scalar), per axis (1-D along ``axis``) or per block (the input's rank, each dim dividing
the input's; a block of ``input/scale`` elements shares one scale).
"""

from __future__ import annotations

import torch

from ..dtypes import round_to
from ..registry import ReferenceError, evaluator
from .common import f32

_LARGEST = {"FP4": 6.0, "FP8": 448.0, "INT8": 127.0, "INT4": 7.0}


def _expand(scale, x, axis):
    """``scale`` broadcast to ``x``'s shape (per tensor, per axis or per block)."""
    if scale.numel() == 1:
        return scale.reshape(())
    if scale.dim() == 1 and x.dim() > 1:
        shape = [1] * x.dim()
        shape[axis % x.dim()] = -1
        return scale.reshape(shape)
    for d in range(x.dim()):
        if scale.shape[d] != x.shape[d]:
            scale = scale.repeat_interleave(x.shape[d] // scale.shape[d], d)
    return scale


@evaluator("QUANTIZE")
def quantize(layer, inputs, trt, device):
    """``saturate(round_half_even(x / scale) + zero_point)`` in the output type."""
    x, scale = f32(inputs[0]), f32(inputs[1])
    scale = _expand(scale, x, layer.axis)
    to = layer.get_output(0).dtype
    value = x / scale
    if to.name in ("INT8", "INT4", "UINT8"):
        value = torch.round(value)
        if len(inputs) > 2 and inputs[2] is not None:
            value = value + _expand(f32(inputs[2]), x, layer.axis)
        low, high = {"INT8": (-128, 127), "INT4": (-8, 7), "UINT8": (0, 255)}[to.name]
        return [value.clamp(low, high)]
    return [value]  # FP8/FP4: the executor rounds to nearest even and saturates


@evaluator("DEQUANTIZE")
def dequantize(layer, inputs, trt, device):
    """``(x - zero_point) · scale`` in the output type."""
    x, scale = inputs[0].float(), f32(inputs[1])
    if len(inputs) > 2 and inputs[2] is not None:
        x = x - _expand(inputs[2].float(), x, layer.axis)
    return [x * _expand(scale, x, layer.axis)]


@evaluator("DYNAMIC_QUANTIZE")
def dynamic_quantize(layer, inputs, trt, device):
    """Per block of ``block_size`` elements along ``axis``: scale = amax / (the output type's largest value), rounded
    to the scale type (divided by the double-quantization scale first when given; E8M0 rounds up to a power of
    two so no element saturates); output 0 = x / scale in the output type, output 1 = the scales."""
    x = f32(inputs[0])
    double = f32(inputs[1]).reshape(()) if len(inputs) > 1 and inputs[1] is not None else None
    axis, size = layer.axis % x.dim(), layer.block_size
    to, scale_type = layer.to_type, layer.scale_type
    if to.name not in _LARGEST:
        raise ReferenceError(
            f"reference: dynamic quantize layer '{layer.name}': output type {to.name} is not "
            f"supported ({sorted(_LARGEST)} are)"
        )
    blocks = x.unflatten(axis, (x.shape[axis] // size, size))
    amax = blocks.abs().amax(axis + 1)
    scale = amax / _LARGEST[to.name]
    if double is not None:
        scale = scale / double
    if scale_type.name == "E8M0":
        scale = torch.exp2(torch.ceil(torch.log2(scale.clamp(min=2.0**-127))))
    else:
        scale = round_to(scale, scale_type).float()
    used = scale * double if double is not None else scale
    safe = torch.where(used == 0, torch.ones_like(used), used)
    quantized = (blocks / safe.unsqueeze(axis + 1)).flatten(axis, axis + 1)
    return [quantized, scale]
