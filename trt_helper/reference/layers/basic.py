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
    """LINSPACE: ``alpha + Σ_d beta[d]·index_d``. RANDOM_UNIFORM (in [alpha, beta)) and RANDOM_NORMAL (mean alpha,
    std beta) draw from a generator seeded with 0: the same distribution as TensorRT, never the same numbers."""
    shape = [int(d) for d in inputs[0].tolist()] if inputs and inputs[0] is not None else int_dims(layer.shape)
    operation = layer.operation.name
    if operation != "LINSPACE":
        low = float(inputs[1].reshape(())) if len(inputs) > 1 and inputs[1] is not None else float(layer.alpha)
        high = float(inputs[2].reshape(())) if len(inputs) > 2 and inputs[2] is not None else float(layer.beta)
        generator = torch.Generator().manual_seed(0)
        if operation == "RANDOM_NORMAL":
            return [(low + high * torch.randn(shape, generator=generator, dtype=torch.float64)).to(device)]
        return [(low + (high - low) * torch.rand(shape, generator=generator, dtype=torch.float64)).to(device)]
    alpha = inputs[1].double() if len(inputs) > 1 and inputs[1] is not None else torch.tensor(float(layer.alpha))
    beta = (
        inputs[2].double()
        if len(inputs) > 2 and inputs[2] is not None
        else torch.full((len(shape),), float(layer.beta))
    )
    grids = torch.meshgrid(*[torch.arange(n, dtype=torch.float64) for n in shape], indexing="ij")
    out = alpha.reshape(()).clone() + sum(beta.reshape(-1)[k] * g for k, g in enumerate(grids))
    return [torch.as_tensor(out, dtype=torch.float64).reshape(shape).to(device)]
