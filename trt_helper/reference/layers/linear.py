"""Matrix multiply, einsum, convolution, deconvolution and pooling."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ..registry import evaluator
from .common import f32, int_dims, weights_tensor


@evaluator("MATRIX_MULTIPLY")
def matrix_multiply(layer, inputs, trt, device):
    a, b = (f32(t) for t in inputs)
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
        out = out.squeeze(-1 if op1 == "VECTOR" else -2)
    return [out]


@evaluator("EINSUM")
def einsum(layer, inputs, trt, device):
    return [torch.einsum(layer.equation, *[f32(t) for t in inputs])]


@evaluator("CONVOLUTION")
def convolution(layer, inputs, trt, device):
    x = f32(inputs[0])
    spatial = x.dim() - 2
    kernel = weights_tensor(layer.kernel, device) if np.asarray(layer.kernel).size else inputs[1]
    kernel = f32(kernel).reshape(layer.num_output_maps, x.shape[1] // layer.num_groups, *int_dims(layer.kernel_size_nd))
    bias = (
        weights_tensor(layer.bias, device)
        if np.asarray(layer.bias).size
        else (inputs[2] if len(inputs) > 2 and inputs[2] is not None else None)
    )
    pre, post = int_dims(layer.pre_padding), int_dims(layer.post_padding)
    stride, dilation = int_dims(layer.stride_nd), int_dims(layer.dilation_nd)
    pre, post = _same_padding(layer.padding_mode.name, x.shape[2:], kernel.shape[2:], stride, dilation, pre, post)
    x = F.pad(x, _torch_pad(pre, post))
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[spatial]
    out = conv(
        x, kernel, None if bias is None else f32(bias), stride=stride, dilation=dilation, groups=layer.num_groups
    )
    return [out]


def _same_padding(mode, sizes, kernel, stride, dilation, pre, post):
    """``(pre, post)``: the explicit paddings, or the SAME_UPPER/SAME_LOWER ones (the odd element after/before)."""
    if not mode.startswith("SAME"):
        return pre, post
    pre, post = [], []
    for n, k, s, r in zip(sizes, kernel, stride, dilation):
        total = max((math.ceil(n / s) - 1) * s + (k - 1) * r + 1 - n, 0)
        small, large = total // 2, total - total // 2
        pre.append(large if mode == "SAME_LOWER" else small)
        post.append(small if mode == "SAME_LOWER" else large)
    return pre, post


def _torch_pad(pre, post):
    pad = []
    for d in reversed(range(len(pre))):
        pad += [pre[d], post[d]]
    return pad


@evaluator("DECONVOLUTION")
def deconvolution(layer, inputs, trt, device):
    """Transposed convolution (kernel ``[C_in, C_out/groups, k…]``), its full output cropped by the pre/post padding
    (SAME modes: output size ``n·stride``)."""
    x = f32(inputs[0])
    spatial = x.dim() - 2
    kernel = weights_tensor(layer.kernel, device) if np.asarray(layer.kernel).size else inputs[1]
    groups = layer.num_groups
    kernel = f32(kernel).reshape(x.shape[1], layer.num_output_maps // groups, *int_dims(layer.kernel_size_nd))
    bias = (
        weights_tensor(layer.bias, device)
        if np.asarray(layer.bias).size
        else (inputs[2] if len(inputs) > 2 and inputs[2] is not None else None)
    )
    stride, dilation = int_dims(layer.stride_nd), int_dims(layer.dilation_nd)
    deconv = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[spatial]
    out = deconv(x, kernel, None if bias is None else f32(bias), stride=stride, dilation=dilation, groups=groups)
    pre, post = int_dims(layer.pre_padding), int_dims(layer.post_padding)
    mode = layer.padding_mode.name
    for d in range(spatial):
        full = out.shape[2 + d]
        if mode.startswith("SAME"):
            total = full - x.shape[2 + d] * stride[d]
            small, large = total // 2, total - total // 2
            pre[d], post[d] = (large, small) if mode == "SAME_LOWER" else (small, large)
        out = out.narrow(2 + d, pre[d], full - pre[d] - post[d])
    return [out]


@evaluator("POOLING")
def pooling(layer, inputs, trt, device):
    """Max, average or blended (``blend·max + (1-blend)·avg``) pooling over the trailing dims. EXPLICIT_ROUND_UP
    adds windows that start inside the padded input; averages divide by the window's elements inside the padded
    input, or inside the input when ``average_count_excludes_padding``."""
    x = f32(inputs[0])
    window, stride = int_dims(layer.window_size_nd), int_dims(layer.stride_nd)
    spatial = len(window)
    sizes = x.shape[x.dim() - spatial :]
    pre, post = _same_padding(
        layer.padding_mode.name,
        sizes,
        window,
        stride,
        [1] * spatial,
        int_dims(layer.pre_padding),
        int_dims(layer.post_padding),
    )
    extra = []
    for n, k, s, a, b in zip(sizes, window, stride, pre, post):
        padded = n + a + b
        count = (padded - k) // s + 1
        if layer.padding_mode.name == "EXPLICIT_ROUND_UP":
            count = -(-(padded - k) // s) + 1
            if (count - 1) * s >= n + a:  # a window must start inside the input or its leading padding
                count -= 1
        extra.append(max((count - 1) * s + k - padded, 0))
    lead = x.dim() - spatial
    real = torch.ones(sizes, dtype=x.dtype, device=x.device)
    inside_padding = F.pad(real, _torch_pad(pre, post), value=1.0)
    kind = layer.type.name
    tensors = {
        "values_max": F.pad(x, _torch_pad(pre, post), value=-math.inf),
        "values_sum": F.pad(x, _torch_pad(pre, post)),
        "real": F.pad(real, _torch_pad(pre, post)),
        "padded": inside_padding,
    }
    tail = _torch_pad([0] * spatial, extra)
    for key, value in tensors.items():
        tensors[key] = F.pad(value, tail, value=-math.inf if key == "values_max" else 0.0)
    for key, value in tensors.items():
        base = lead if value.dim() > spatial else 0
        for d in range(spatial):
            value = value.unfold(base + d, window[d], stride[d])
        tensors[key] = value.flatten(-spatial)
    maximum = tensors["values_max"].amax(-1)
    divisor = tensors["real" if layer.average_count_excludes_padding else "padded"].sum(-1)
    average = tensors["values_sum"].sum(-1) / divisor
    if kind == "MAX":
        return [maximum]
    if kind == "AVERAGE":
        return [average]
    blend = float(layer.blend_factor)
    return [blend * maximum + (1 - blend) * average]
