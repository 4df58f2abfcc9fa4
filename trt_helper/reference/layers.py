"""Evaluators for TensorRT's standard layers, following the TensorRT operator documentation.

Each takes the downcast layer and its input values and returns its output values. Floating inputs arrive as they
are; ``_f32`` lifts them to fp32 so fp16/bf16 layers compute like TensorRT's fp32-accumulating kernels, and the
executor rounds every output to the tensor's declared dtype.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .registry import ReferenceError, evaluator


def _f32(t):
    return t.float() if t.is_floating_point() and t.dtype != torch.float64 else t


def _axes(mask: int, rank: int) -> list[int]:
    return [d for d in range(rank) if mask >> d & 1]


def _dims(value) -> list[int]:
    return [int(d) for d in value]


def _weights(weights, device):
    array = np.asarray(weights)
    return torch.from_numpy(array.copy()).to(device)


@evaluator("CONSTANT")
def constant(layer, inputs, trt, device):
    return [_weights(layer.weights, device).reshape(_dims(layer.shape))]


@evaluator("IDENTITY")
def identity(layer, inputs, trt, device):
    return [inputs[0]]


@evaluator("CAST")
def cast(layer, inputs, trt, device):
    return [inputs[0]]  # the executor casts every output to its declared dtype


@evaluator("SHAPE")
def shape(layer, inputs, trt, device):
    return [torch.tensor(list(inputs[0].shape), dtype=torch.int64, device=inputs[0].device)]


_ELEMENTWISE = {
    "SUM": torch.add, "SUB": torch.sub, "PROD": torch.mul, "MAX": torch.maximum, "MIN": torch.minimum,
    "POW": torch.pow, "EQUAL": torch.eq, "GREATER": torch.gt, "LESS": torch.lt,
    "AND": torch.logical_and, "OR": torch.logical_or, "XOR": torch.logical_xor,
    "FLOOR_DIV": lambda a, b: torch.div(a, b, rounding_mode="floor"),
}


@evaluator("ELEMENTWISE")
def elementwise(layer, inputs, trt, device):
    a, b = (_f32(t) for t in inputs)
    name = layer.op.name
    if name == "DIV":
        return [torch.div(a, b) if a.is_floating_point() else torch.div(a, b, rounding_mode="trunc")]
    return [_ELEMENTWISE[name](a, b)]


_UNARY = {
    "EXP": torch.exp, "LOG": torch.log, "SQRT": torch.sqrt, "RECIP": torch.reciprocal, "ABS": torch.abs,
    "NEG": torch.neg, "SIN": torch.sin, "COS": torch.cos, "TAN": torch.tan, "SINH": torch.sinh, "COSH": torch.cosh,
    "ASIN": torch.asin, "ACOS": torch.acos, "ATAN": torch.atan, "ASINH": torch.asinh, "ACOSH": torch.acosh,
    "ATANH": torch.atanh, "CEIL": torch.ceil, "FLOOR": torch.floor, "ERF": torch.erf, "NOT": torch.logical_not,
    "SIGN": torch.sign, "ROUND": torch.round, "ISINF": torch.isinf, "ISNAN": torch.isnan,
}


@evaluator("UNARY")
def unary(layer, inputs, trt, device):
    return [_UNARY[layer.op.name](_f32(inputs[0]))]


@evaluator("ACTIVATION")
def activation(layer, inputs, trt, device):
    x, a, b = _f32(inputs[0]), layer.alpha, layer.beta
    functions = {
        "RELU": F.relu, "SIGMOID": torch.sigmoid, "TANH": torch.tanh,
        "LEAKY_RELU": lambda t: F.leaky_relu(t, a), "ELU": lambda t: torch.where(t >= 0, t, a * (torch.exp(t) - 1)),
        "SELU": lambda t: b * torch.where(t >= 0, t, a * (torch.exp(t) - 1)),
        "SOFTSIGN": lambda t: t / (1 + t.abs()), "SOFTPLUS": lambda t: a * torch.log1p(torch.exp(b * t)),
        "CLIP": lambda t: t.clamp(a, b), "HARD_SIGMOID": lambda t: (a * t + b).clamp(0, 1),
        "SCALED_TANH": lambda t: a * torch.tanh(b * t), "THRESHOLDED_RELU": lambda t: torch.where(t > a, t, 0.0),
        "GELU_ERF": lambda t: F.gelu(t), "GELU_TANH": lambda t: F.gelu(t, approximate="tanh"),
    }
    return [functions[layer.type.name](x)]  # once downcast, IActivationLayer.type is the activation kind


@evaluator("PARAMETRIC_RELU")
def parametric_relu(layer, inputs, trt, device):
    x, slope = _f32(inputs[0]), _f32(inputs[1])
    return [torch.where(x >= 0, x, x * slope)]


_REDUCE = {"SUM": torch.sum, "PROD": lambda t, dim, keepdim: _prod(t, dim, keepdim),
           "MAX": torch.amax, "MIN": torch.amin, "AVG": torch.mean}


def _prod(t, dims, keepdim):
    for d in sorted(dims, reverse=True):
        t = torch.prod(t, d, keepdim=keepdim)
    return t


@evaluator("REDUCE")
def reduce(layer, inputs, trt, device):
    x = _f32(inputs[0])
    dims = _axes(layer.axes, x.dim())
    if not dims:
        return [x]
    return [_REDUCE[layer.op.name](x, dim=dims, keepdim=layer.keep_dims)]


@evaluator("SOFTMAX")
def softmax(layer, inputs, trt, device):
    x = _f32(inputs[0])
    (dim,) = _axes(layer.axes, x.dim())
    return [torch.softmax(x, dim)]


@evaluator("MATRIX_MULTIPLY")
def matrix_multiply(layer, inputs, trt, device):
    a, b = (_f32(t) for t in inputs)
    op0, op1 = layer.op0.name, layer.op1.name
    if op0 == "TRANSPOSE":
        a = a.transpose(-1, -2)
    if op1 == "TRANSPOSE":
        b = b.transpose(-1, -2)
    if op0 == "VECTOR":
        a = a.unsqueeze(-2)
    if op1 == "VECTOR":
        b = b.unsqueeze(-1)
    out = torch.matmul(a, b)
    if op1 == "VECTOR":
        out = out.squeeze(-1)
    if op0 == "VECTOR":
        out = out.squeeze(-2)
    return [out]


@evaluator("SHUFFLE")
def shuffle(layer, inputs, trt, device):
    x = inputs[0].permute(*_dims(layer.first_transpose)[: inputs[0].dim()]) if inputs[0].dim() else inputs[0]
    if len(inputs) > 1 and inputs[1] is not None:
        target = [int(v) for v in inputs[1].tolist()]
        x = _reshape(x, target, layer.zero_is_placeholder)
    elif layer.reshape_dims is not None:  # None: the layer only transposes
        x = _reshape(x, _dims(layer.reshape_dims), layer.zero_is_placeholder)
    second = _dims(layer.second_transpose)[: x.dim()]
    return [x.permute(*second) if x.dim() else x]


def _reshape(x, target, zero_is_placeholder):
    if zero_is_placeholder:
        target = [x.shape[i] if d == 0 else d for i, d in enumerate(target)]
    return x.reshape(target)


@evaluator("SQUEEZE")
def squeeze(layer, inputs, trt, device):
    x = inputs[0]
    if len(inputs) > 1 and inputs[1] is not None:
        dims = sorted({int(d) % x.dim() for d in inputs[1].tolist()})
    else:
        declared = _dims(layer.get_input(0).shape)
        dims = [i for i, d in enumerate(declared) if d == 1]
    for d in reversed(dims):
        if x.shape[d] != 1:
            raise ReferenceError(f"reference: squeeze layer '{layer.name}': dim {d} of {tuple(x.shape)} is not 1")
        x = x.squeeze(d)
    return [x]


@evaluator("UNSQUEEZE")
def unsqueeze(layer, inputs, trt, device):
    x = inputs[0]
    rank = x.dim() + inputs[1].numel()
    for d in sorted(int(d) % rank for d in inputs[1].tolist()):
        x = x.unsqueeze(d)
    return [x]


@evaluator("CONCATENATION")
def concatenation(layer, inputs, trt, device):
    return [torch.cat(inputs, dim=layer.axis)]


@evaluator("SLICE")
def slice_(layer, inputs, trt, device):
    x = inputs[0]
    rank = x.dim()

    def given(i):
        return inputs[i] if len(inputs) > i and inputs[i] is not None else None

    axes = given(5).tolist() if given(5) is not None else getattr(layer, "axes", None)
    axes = [int(a) % rank for a in axes] if axes else list(range(rank))
    start = given(1).tolist() if given(1) is not None else _dims(layer.start)
    size = given(2).tolist() if given(2) is not None else _dims(layer.shape)
    stride = given(3).tolist() if given(3) is not None else _dims(layer.stride)
    full_start, full_size, full_stride = [0] * rank, list(x.shape), [1] * rank
    for j, axis in enumerate(axes):
        full_start[axis], full_size[axis], full_stride[axis] = int(start[j]), int(size[j]), int(stride[j])
    mode = layer.mode.name
    fill = given(4)
    fill_value = float(fill.reshape(-1)[0]) if fill is not None else 0.0
    out = x
    valid = None
    for d in range(rank):
        n = x.shape[d]
        index = full_start[d] + torch.arange(full_size[d], device=x.device) * full_stride[d]
        inside = (index >= 0) & (index < n)
        if mode == "WRAP":
            index = index % n
        elif mode == "CLAMP":
            index = index.clamp(0, n - 1)
        elif mode == "REFLECT":
            period = 2 * (n - 1) if n > 1 else 1
            index = index.abs() % period
            index = torch.where(index >= n, period - index, index)
        elif mode == "FILL":
            shape = [1] * rank
            shape[d] = -1
            valid = inside.reshape(shape) if valid is None else valid & inside.reshape(shape)
            index = index.clamp(0, max(n - 1, 0))
        elif not bool(inside.all()):
            raise ReferenceError(f"reference: slice layer '{layer.name}' reads outside dim {d} of {tuple(x.shape)} "
                                 f"(start {full_start[d]}, size {full_size[d]}, stride {full_stride[d]})")
        out = out.index_select(d, index) if n or not full_size[d] else out.new_zeros(
            [full_size[i] if i == d else s for i, s in enumerate(out.shape)])
    if valid is not None:
        out = torch.where(valid, out, torch.full((), fill_value, dtype=out.dtype, device=out.device))
    return [out]


@evaluator("GATHER")
def gather(layer, inputs, trt, device):
    x, index = inputs[0], inputs[1].long()
    axis, mode = layer.axis, layer.mode.name
    if mode == "ELEMENT":
        return [torch.gather(x, axis, index % x.shape[axis])]
    if mode == "ND":
        raise ReferenceError(f"reference: gather layer '{layer.name}' uses GatherMode.ND, which is not supported")
    index = index % x.shape[axis]
    if layer.num_elementwise_dims == 1:
        return [torch.stack([_take(x[b], axis - 1, index[b]) for b in range(x.shape[0])])]
    return [_take(x, axis, index)]


def _take(x, axis, index):
    picked = x.index_select(axis, index.reshape(-1))
    return picked.reshape(tuple(x.shape[:axis]) + tuple(index.shape) + tuple(x.shape[axis + 1:]))


@evaluator("SELECT")
def select(layer, inputs, trt, device):
    condition, a, b = inputs
    return [torch.where(condition, a, b)]


@evaluator("FILL")
def fill(layer, inputs, trt, device):
    if layer.operation.name != "LINSPACE":
        raise ReferenceError(f"reference: fill layer '{layer.name}' uses {layer.operation.name}; only LINSPACE is "
                             f"deterministic")
    shape = [int(d) for d in inputs[0].tolist()] if inputs and inputs[0] is not None else _dims(layer.shape)
    alpha = inputs[1].double() if len(inputs) > 1 and inputs[1] is not None else torch.tensor(float(layer.alpha))
    beta = inputs[2].double() if len(inputs) > 2 and inputs[2] is not None else torch.full((len(shape),),
                                                                                            float(layer.beta))
    grids = torch.meshgrid(*[torch.arange(n, dtype=torch.float64) for n in shape], indexing="ij")
    out = alpha.reshape(()).clone() + sum(beta.reshape(-1)[k] * g for k, g in enumerate(grids))
    return [torch.as_tensor(out, dtype=torch.float64).reshape(shape).to(device)]


@evaluator("TOPK")
def topk(layer, inputs, trt, device):
    x = _f32(inputs[0])
    (dim,) = _axes(layer.axes, x.dim())
    values, indices = torch.topk(x, layer.k, dim=dim, largest=layer.op.name == "MAX", sorted=True)
    return [values, indices.int()]


@evaluator("CONVOLUTION")
def convolution(layer, inputs, trt, device):
    x = _f32(inputs[0])
    spatial = x.dim() - 2
    kernel = _weights(layer.kernel, device) if np.asarray(layer.kernel).size else inputs[1]
    kernel = _f32(kernel).reshape(layer.num_output_maps, x.shape[1] // layer.num_groups,
                                  *_dims(layer.kernel_size_nd))
    bias = _weights(layer.bias, device) if np.asarray(layer.bias).size else (
        inputs[2] if len(inputs) > 2 and inputs[2] is not None else None)
    pre, post = _dims(layer.pre_padding), _dims(layer.post_padding)
    stride, dilation = _dims(layer.stride_nd), _dims(layer.dilation_nd)
    mode = layer.padding_mode.name
    if mode.startswith("SAME"):
        pre, post = [], []
        for d in range(spatial):
            n, k, s, r = x.shape[2 + d], kernel.shape[2 + d], stride[d], dilation[d]
            total = max((math.ceil(n / s) - 1) * s + (k - 1) * r + 1 - n, 0)
            small, large = total // 2, total - total // 2
            pre.append(large if mode == "SAME_LOWER" else small)
            post.append(small if mode == "SAME_LOWER" else large)
    pad = []
    for d in reversed(range(spatial)):
        pad += [pre[d], post[d]]
    x = F.pad(x, pad)
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[spatial]
    out = conv(x, kernel, None if bias is None else _f32(bias), stride=stride, dilation=dilation,
               groups=layer.num_groups)
    return [out]


@evaluator("NORMALIZATION")
def normalization(layer, inputs, trt, device):
    x, scale, bias = (_f32(t) for t in inputs[:3])
    dims = _axes(layer.axes, x.dim())
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


@evaluator("SCALE")
def scale(layer, inputs, trt, device):
    x = _f32(inputs[0])
    mode = layer.mode.name
    axis = layer.channel_axis
    shape = [1] * x.dim()
    if mode == "CHANNEL":
        shape[axis] = -1
    elif mode == "ELEMENTWISE":
        shape = [1] * axis + list(x.shape[axis:])

    def part(weights, default):
        array = np.asarray(weights)
        return _f32(_weights(array, device)).reshape(shape) if array.size else torch.tensor(default)

    return [torch.pow(x * part(layer.scale, 1.0) + part(layer.shift, 0.0), part(layer.power, 1.0))]


@evaluator("PADDING")
def padding(layer, inputs, trt, device):
    pre, post = _dims(layer.pre_padding_nd), _dims(layer.post_padding_nd)
    pad = []
    for d in reversed(range(len(pre))):
        pad += [pre[d], post[d]]
    return [F.pad(inputs[0], pad)]


@evaluator("ASSERTION")
def assertion(layer, inputs, trt, device):
    if not bool(inputs[0].all()):
        raise ReferenceError(f"reference: assertion layer '{layer.name}' failed: {layer.message}")
    return []


@evaluator("EINSUM")
def einsum(layer, inputs, trt, device):
    return [torch.einsum(layer.equation, *[_f32(t) for t in inputs])]


@evaluator("CUMULATIVE")
def cumulative(layer, inputs, trt, device):
    x, axis = _f32(inputs[0]), int(inputs[1].reshape(-1)[0])
    if layer.op.name != "SUM":
        raise ReferenceError(f"reference: cumulative layer '{layer.name}' op {layer.op.name} is not supported")
    if layer.reverse:
        x = x.flip(axis)
    out = torch.cumsum(x, axis)
    if layer.exclusive:
        out = out - x
    return [out.flip(axis) if layer.reverse else out]
