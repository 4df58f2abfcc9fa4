"""Reductions and normalizations along axes: reduce, softmax, cumulative, normalization, TopK, LRN."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..registry import ReferenceError, evaluator
from .common import f32, mask_axes

_REDUCE = {
    "SUM": torch.sum,
    "PROD": lambda t, dim, keepdim: _prod(t, dim, keepdim),
    "MAX": torch.amax,
    "MIN": torch.amin,
    "AVG": torch.mean,
}


def _prod(t, dims, keepdim):
    for d in sorted(dims, reverse=True):
        t = torch.prod(t, d, keepdim=keepdim)
    return t


@evaluator("REDUCE")
def reduce(layer, inputs, trt, device):
    x = f32(inputs[0])
    dims = mask_axes(layer.axes, x.dim())
    if not dims:
        return [x]
    return [_REDUCE[layer.op.name](x, dim=dims, keepdim=layer.keep_dims)]


@evaluator("SOFTMAX")
def softmax(layer, inputs, trt, device):
    x = f32(inputs[0])
    (dim,) = mask_axes(layer.axes, x.dim())
    return [torch.softmax(x, dim)]


@evaluator("CUMULATIVE")
def cumulative(layer, inputs, trt, device):
    x, axis = f32(inputs[0]), int(inputs[1].reshape(-1)[0])
    if layer.op.name != "SUM":
        raise ReferenceError(f"reference: cumulative layer '{layer.name}' op {layer.op.name} is not supported")
    if layer.reverse:
        x = x.flip(axis)
    out = torch.cumsum(x, axis)
    if layer.exclusive:
        out = out - x
    return [out.flip(axis) if layer.reverse else out]


@evaluator("NORMALIZATION")
def normalization(layer, inputs, trt, device):
    x, scale, bias = (f32(t) for t in inputs[:3])
    dims = mask_axes(layer.axes, x.dim())
    groups = layer.num_groups
    if groups > 1:
        n, c = x.shape[:2]
        grouped = x.reshape(n, groups, c // groups, *x.shape[2:])
        reduce_dims = list(range(2, grouped.dim()))
        mean = grouped.mean(reduce_dims, keepdim=True)
        var = grouped.var(reduce_dims, unbiased=False, keepdim=True)
        normed = ((grouped - mean) / torch.sqrt(var + layer.epsilon)).reshape(x.shape)
    else:
        mean = x.mean(dims, keepdim=True)
        var = x.var(dims, unbiased=False, keepdim=True)
        normed = (x - mean) / torch.sqrt(var + layer.epsilon)
    return [normed * scale + bias]


@evaluator("TOPK")
def topk(layer, inputs, trt, device):
    x = f32(inputs[0])
    (dim,) = mask_axes(layer.axes, x.dim())
    k = int(inputs[1].reshape(())) if len(inputs) > 1 and inputs[1] is not None else layer.k
    largest = layer.op.name == "MAX"
    # TensorRT leaves the order of equal values open; a stable sort puts the lower index first, as ONNX does
    order = torch.sort(x, dim=dim, descending=largest, stable=True).indices.narrow(dim, 0, k)
    return [x.gather(dim, order), order]


@evaluator("LRN")
def lrn(layer, inputs, trt, device):
    """Cross-channel local response normalization: ``x / (k + alpha/window · Σ x²)^beta`` over ``window`` channels
    centred on each one (dim 1)."""
    return [F.local_response_norm(f32(inputs[0]), layer.window_size, layer.alpha, layer.beta, layer.k)]


@evaluator("RAGGED_SOFTMAX")
def ragged_softmax(layer, inputs, trt, device):
    """Softmax over the first ``bounds[z]`` elements of each row ``z`` of the last dim; the rest are 0."""
    x, bounds = f32(inputs[0]), inputs[1]
    positions = torch.arange(x.shape[-1], device=x.device)
    valid = positions < bounds.reshape(*bounds.shape[:-1], 1).long()
    masked = torch.where(valid, x, -math.inf)
    return [torch.where(valid, torch.softmax(masked, -1), 0.0)]
