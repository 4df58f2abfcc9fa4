"""Driving a plugin through the pybind11 harness (``trt_helper._plugin_harness``) with torch CUDA tensors, the
way TensorRT would, without a TensorRT runtime."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

_TYPE_NAMES = {
    torch.float32: "float32",
    torch.float16: "float16",
    torch.bfloat16: "bfloat16",
    torch.int32: "int32",
    torch.int64: "int64",
    torch.int8: "int8",
    torch.bool: "bool",
    torch.uint8: "uint8",
}


def tensor_spec(tensor: torch.Tensor) -> tuple[tuple[int, ...], str]:
    """``(dims, type name)`` of a torch tensor, as the harness takes it."""
    return tuple(tensor.shape), _TYPE_NAMES[tensor.dtype]


def bound_tensor(tensor: torch.Tensor) -> tuple[int, tuple[int, ...], str]:
    """``(data pointer, dims, type name)`` of a contiguous torch tensor, for ``Plugin.enqueue``."""
    if not tensor.is_contiguous():
        raise ValueError("plugin tensors must be contiguous")
    dims, type_name = tensor_spec(tensor)
    return tensor.data_ptr(), dims, type_name


def harness_enqueue(
    plugin: Any,
    inputs: Sequence[torch.Tensor],
    outputs: Sequence[torch.Tensor],
    stream: Any = None,
    workspace: torch.Tensor | None = None,
) -> int:
    """Run a harness ``Plugin`` on torch CUDA tensors: configurePlugin, onShapeChange, getWorkspaceSize (a
    workspace is allocated when none is given), enqueue. Returns enqueue's status (configure/shape failures are
    returned as they come)."""
    in_specs = [tensor_spec(t) for t in inputs]
    out_specs = [tensor_spec(t) for t in outputs]
    status = plugin.configure(in_specs, out_specs)
    if status != 0:
        return status
    status = plugin.on_shape_change(in_specs, out_specs)
    if status != 0:
        return status
    if workspace is None:
        size = plugin.workspace_size(in_specs, out_specs)
        device = outputs[0].device if outputs else inputs[0].device
        workspace = torch.empty(max(size, 1), dtype=torch.uint8, device=device) if size else None
    stream = torch.cuda.current_stream() if stream is None else stream
    return plugin.enqueue(
        [bound_tensor(t) for t in inputs],
        [bound_tensor(t) for t in outputs],
        workspace.data_ptr() if workspace is not None else 0,
        stream.cuda_stream,
    )
