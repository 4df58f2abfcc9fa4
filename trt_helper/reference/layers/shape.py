"""Layers that move data without computing: shuffle, squeeze/unsqueeze, concatenation, slice, padding."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..registry import ReferenceError, evaluator
from .common import int_dims


@evaluator("SHUFFLE")
def shuffle(layer, inputs, trt, device):
    x = inputs[0].permute(*int_dims(layer.first_transpose)[: inputs[0].dim()]) if inputs[0].dim() else inputs[0]
    if len(inputs) > 1 and inputs[1] is not None:
        target = [int(v) for v in inputs[1].tolist()]
        x = _reshape(x, target, layer.zero_is_placeholder)
    elif layer.reshape_dims is not None:  # None: the layer only transposes
        x = _reshape(x, int_dims(layer.reshape_dims), layer.zero_is_placeholder)
    second = int_dims(layer.second_transpose)[: x.dim()]
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
        declared = int_dims(layer.get_input(0).shape)
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

    axes_in, start_in, size_in, stride_in = given(5), given(1), given(2), given(3)
    axes = axes_in.tolist() if axes_in is not None else getattr(layer, "axes", None)
    axes = [int(a) % rank for a in axes] if axes else list(range(rank))
    start = start_in.tolist() if start_in is not None else int_dims(layer.start)
    size = size_in.tolist() if size_in is not None else int_dims(layer.shape)
    stride = stride_in.tolist() if stride_in is not None else int_dims(layer.stride)
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
            raise ReferenceError(
                f"reference: slice layer '{layer.name}' reads outside dim {d} of {tuple(x.shape)} "
                f"(start {full_start[d]}, size {full_size[d]}, stride {full_stride[d]})"
            )
        out = (
            out.index_select(d, index)
            if n or not full_size[d]
            else out.new_zeros([full_size[i] if i == d else s for i, s in enumerate(out.shape)])
        )
    if valid is not None:
        out = torch.where(valid, out, torch.full((), fill_value, dtype=out.dtype, device=out.device))
    return [out]


@evaluator("PADDING")
def padding(layer, inputs, trt, device):
    pre, post = int_dims(layer.pre_padding_nd), int_dims(layer.post_padding_nd)
    pad = []
    for d in reversed(range(len(pre))):
        pad += [pre[d], post[d]]
    return [F.pad(inputs[0], pad)]
