"""The reference executor: runs an ``INetworkDefinition`` layer by layer with PyTorch.

It reads the network (layer types, attributes, weights) and follows TensorRT's documented layer semantics; it
never calls the model's torch modules. Floating layers compute in fp32 and round their outputs to the tensor's
dtype, as TensorRT's fp16 kernels accumulate in fp32. Evaluators live in ``layers/`` (one module per family, one
evaluator per ``trt.LayerType``); loops and if-conditionals run as whole regions (``control.py``). It is a numeric
oracle for tests and for finding where a port goes wrong — not a runtime: never time it as TensorRT.

Example:
    >>> outputs = trt_helper.reference.run(helper.network, {"x": torch.randn(2, 8)})
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from ..backend import get_backend
from . import layers  # noqa: F401  (registers the evaluators)
from .control import Executor
from .dtypes import carrier
from .layers.extern import register_plugin
from .registry import EVALUATORS, ReferenceError

__all__ = ["run", "ReferenceError", "EVALUATORS", "register_plugin"]


def run(
    network, inputs: Mapping[str, torch.Tensor], device: str | torch.device = "cpu", debug: bool = False
) -> dict[str, torch.Tensor]:
    """Evaluate ``network`` on ``inputs`` (name → tensor).

    Returns the network outputs by name; with ``debug=True`` every tensor the network computes, by name.
    Raises :class:`ReferenceError` naming the layer when a layer type has no evaluator or a layer fails.
    """
    trt = get_backend().trt
    values: dict[str, torch.Tensor] = {}
    for i in range(network.num_inputs):
        tensor = network.get_input(i)
        if tensor.name not in inputs:
            raise ReferenceError(f"reference: missing input '{tensor.name}' (expected {_input_names(network)})")
        value = torch.as_tensor(inputs[tensor.name]).to(device)
        expected = carrier(tensor.dtype)
        if value.dtype != expected:
            raise ReferenceError(
                f"reference: input '{tensor.name}' has dtype {value.dtype}, the network declares {expected}"
            )
        declared = tuple(tensor.shape)
        if len(declared) != value.dim() or any(d != -1 and d != v for d, v in zip(declared, value.shape)):
            raise ReferenceError(
                f"reference: input '{tensor.name}' has shape {tuple(value.shape)}, the network declares {declared}"
            )
        values[tensor.name] = value
    unknown = set(inputs) - set(values)
    if unknown:
        raise ReferenceError(f"reference: unknown inputs {sorted(unknown)} (expected {_input_names(network)})")

    Executor(trt, network, device).run(values)
    if debug:
        return values
    return {network.get_output(i).name: values[network.get_output(i).name] for i in range(network.num_outputs)}


def _input_names(network):
    return [network.get_input(i).name for i in range(network.num_inputs)]
