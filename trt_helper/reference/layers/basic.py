"""Constants, identity, casts, shapes, assertions and fills."""

from __future__ import annotations

import torch

from ..registry import ReferenceError, evaluator
from .common import int_dims, weights_tensor


@evaluator("CONSTANT")
def constant(layer, inputs, trt, device):
    return [weights_tensor(layer.weights, device).reshape(int_dims(layer.shape))]


@evaluator("IDENTITY")
def identity(layer, inputs, trt, device):
    return [inputs[0]]


@evaluator("CAST")
def cast(layer, inputs, trt, device):
    return [inputs[0]]  # the executor casts every output to its declared dtype


@evaluator("SHAPE")
def shape(layer, inputs, trt, device):
    return [torch.tensor(list(inputs[0].shape), dtype=torch.int64, device=inputs[0].device)]


@evaluator("ASSERTION")
def assertion(layer, inputs, trt, device):
    if not bool(inputs[0].all()):
        raise ReferenceError(f"reference: assertion layer '{layer.name}' failed: {layer.message}")
    return []


@evaluator("FILL")
def fill(layer, inputs, trt, device):
    if layer.operation.name != "LINSPACE":
        raise ReferenceError(f"reference: fill layer '{layer.name}' uses {layer.operation.name}; only LINSPACE is "
                             f"deterministic")
    shape = [int(d) for d in inputs[0].tolist()] if inputs and inputs[0] is not None else int_dims(layer.shape)
    alpha = inputs[1].double() if len(inputs) > 1 and inputs[1] is not None else torch.tensor(float(layer.alpha))
    beta = inputs[2].double() if len(inputs) > 2 and inputs[2] is not None else torch.full((len(shape),),
                                                                                            float(layer.beta))
    grids = torch.meshgrid(*[torch.arange(n, dtype=torch.float64) for n in shape], indexing="ij")
    out = alpha.reshape(()).clone() + sum(beta.reshape(-1)[k] * g for k, g in enumerate(grids))
    return [torch.as_tensor(out, dtype=torch.float64).reshape(shape).to(device)]
