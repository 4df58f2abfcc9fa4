"""The reference executor: runs an ``INetworkDefinition`` layer by layer with PyTorch.

It reads the network (layer types, attributes, weights) and follows TensorRT's documented layer semantics; it
never calls the model's torch modules. Floating layers compute in fp32 and round their outputs to the tensor's
dtype, as TensorRT's fp16 kernels accumulate in fp32. It is a numeric oracle for tests and for finding where a
port goes wrong — not a runtime: never time it as TensorRT.

Example:
    >>> outputs = trt_helper.reference.run(helper.network, {"x": torch.randn(2, 8)})
"""

from __future__ import annotations

from typing import Mapping

import torch

from ..backend import get_backend
from .registry import EVALUATORS, ReferenceError, downcast
from . import layers  # noqa: F401  (registers the evaluators)

__all__ = ["run", "ReferenceError", "EVALUATORS"]


def run(network, inputs: Mapping[str, torch.Tensor], device: str | torch.device = "cpu",
        debug: bool = False) -> dict[str, torch.Tensor]:
    """Evaluate ``network`` on ``inputs`` (name → tensor).

    Returns the network outputs by name; with ``debug=True`` every tensor the network computes, by name.
    Raises :class:`ReferenceError` naming the layer when a layer type has no evaluator or a layer fails.
    """
    backend = get_backend()
    trt = backend.trt
    values: dict[str, torch.Tensor] = {}
    for i in range(network.num_inputs):
        tensor = network.get_input(i)
        if tensor.name not in inputs:
            raise ReferenceError(f"reference: missing input '{tensor.name}' (expected {_input_names(network)})")
        value = torch.as_tensor(inputs[tensor.name]).to(device)
        expected = backend.torch_dtype(tensor.dtype)
        if value.dtype != expected:
            raise ReferenceError(f"reference: input '{tensor.name}' has dtype {value.dtype}, the network declares "
                                 f"{expected}")
        declared = tuple(tensor.shape)
        if len(declared) != value.dim() or any(d != -1 and d != v for d, v in zip(declared, value.shape)):
            raise ReferenceError(f"reference: input '{tensor.name}' has shape {tuple(value.shape)}, the network "
                                 f"declares {declared}")
        values[tensor.name] = value
    unknown = set(inputs) - set(values)
    if unknown:
        raise ReferenceError(f"reference: unknown inputs {sorted(unknown)} (expected {_input_names(network)})")

    for index in _topological_order(network, set(values)):
        layer, kind = downcast(trt, network.get_layer(index))
        evaluate = EVALUATORS.get(kind)
        if evaluate is None:
            raise ReferenceError(f"reference: layer '{layer.name}' has type {kind}, which the reference executor "
                                 f"cannot evaluate")
        args = [values[layer.get_input(i).name] if layer.get_input(i) is not None else None
                for i in range(layer.num_inputs)]
        try:
            results = evaluate(layer, args, trt=trt, device=device)
        except ReferenceError:
            raise
        except Exception as error:  # noqa: BLE001 — re-raised with the layer's name
            shapes = [tuple(a.shape) if isinstance(a, torch.Tensor) else None for a in args]
            raise ReferenceError(f"reference: layer '{layer.name}' ({kind}) failed on input shapes {shapes}: "
                                 f"{error}") from error
        for i, result in enumerate(results):
            out = layer.get_output(i)
            values[out.name] = result.to(backend.torch_dtype(out.dtype))
    if debug:
        return values
    return {network.get_output(i).name: values[network.get_output(i).name] for i in range(network.num_outputs)}


def _topological_order(network, available: set[str]) -> list[int]:
    """Layer indices ordered so that every layer comes after the producers of its inputs (a layer's inputs may be
    set after it was added, e.g. with ``set_input``)."""
    pending = list(range(network.num_layers))
    order = []
    while pending:
        waiting = []
        for index in pending:
            layer = network.get_layer(index)
            needed = [layer.get_input(i) for i in range(layer.num_inputs)]
            if all(t is None or t.name in available for t in needed):
                order.append(index)
                available.update(layer.get_output(i).name for i in range(layer.num_outputs))
            else:
                waiting.append(index)
        if len(waiting) == len(pending):
            names = [network.get_layer(i).name for i in waiting[:5]]
            raise ReferenceError(f"reference: layers {names} wait for tensors no layer produces")
        pending = waiting
    return order


def _input_names(network):
    return [network.get_input(i).name for i in range(network.num_inputs)]
