"""Calibration: run the PyTorch model on given inputs and collect what each module's input looks like.

``run(model)`` is any callable that drives the model on calibration data (e.g. transcribing a few clips); forward
pre-hooks on the chosen modules see every input. Absmax is what static activation scales need (SmoothQuant, KV
cache); :func:`collect_inputs` keeps a row sample for the activation-aware weight search (:mod:`.awq`).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

import torch
from torch import nn


@contextmanager
def _hooks(model: nn.Module, types: tuple[type, ...], record: Callable[[str, torch.Tensor], None], output: bool):
    modules = [(path, module) for path, module in model.named_modules() if isinstance(module, types)]
    if output:
        handles = [
            module.register_forward_hook(lambda m, args, out, path=path: record(path, out)) for path, module in modules
        ]
    else:
        handles = [
            module.register_forward_pre_hook(lambda m, args, path=path: record(path, args[0]))
            for path, module in modules
        ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def calibrate(
    model: nn.Module,
    run: Callable[[nn.Module], object],
    types: tuple[type, ...] = (nn.Linear,),
    per_channel: bool = True,
    output: bool = False,
) -> dict[str, torch.Tensor]:
    """{module path: absmax of its input (of its output with ``output=True``, e.g. for a KV cache)} over everything
    ``run(model)`` feeds it: per channel (last dim, shape (K,)) or per tensor (a 0-d tensor). Raises when ``run``
    reaches none of the modules.

    Example:
        >>> amax = calibrate(model, lambda m: m(x))                       # {"encoder.blocks.0.mlp.0": (K,)}
    """
    amax: dict[str, torch.Tensor] = {}

    def record(path: str, x: torch.Tensor) -> None:
        value = x.detach().float().abs().reshape(-1, x.shape[-1]).amax(0)
        value = value if per_channel else value.amax()
        amax[path] = value if path not in amax else torch.maximum(amax[path], value)

    with _hooks(model, types, record, output), torch.no_grad():
        run(model)
    if not amax:
        raise ValueError(f"calibrate: run(model) reached no {[t.__name__ for t in types]} module")
    return amax


def collect_inputs(
    model: nn.Module,
    run: Callable[[nn.Module], object],
    types: tuple[type, ...] = (nn.Linear,),
    max_rows: int = 512,
    seed: int = 0,
) -> dict[str, torch.Tensor]:
    """{module path: (≤ max_rows, K) rows of its input}, a uniform sample over every call ``run(model)`` makes."""
    rows: dict[str, list[torch.Tensor]] = {}
    gen = torch.Generator().manual_seed(seed)

    def record(path: str, x: torch.Tensor) -> None:
        flat = x.detach().float().reshape(-1, x.shape[-1]).cpu()
        if flat.shape[0] > max_rows:
            flat = flat[torch.randperm(flat.shape[0], generator=gen)[:max_rows]]
        rows.setdefault(path, []).append(flat)

    with _hooks(model, types, record, False), torch.no_grad():
        run(model)
    if not rows:
        raise ValueError(f"collect_inputs: run(model) reached no {[t.__name__ for t in types]} module")
    out = {}
    for path, chunks in rows.items():
        flat = torch.cat(chunks)
        out[path] = flat[torch.randperm(flat.shape[0], generator=gen)[:max_rows]] if flat.shape[0] > max_rows else flat
    return out
