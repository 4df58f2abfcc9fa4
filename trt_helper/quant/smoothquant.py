"""SmoothQuant W8A8: move activation outliers into the weights, then int8 weights and int8 static activations.

For a LayerNorm or RMSNorm feeding linears that share its output, ``s_j = amax|x_j| ** α / amax|W_:,j| ** (1 − α)``
per input channel (the weight max over all those linears; ``s ≥ 1e-5``). The norm's gamma and beta are divided by
``s`` and each linear's weight columns multiplied by it, so the float model computes the same function. The source
may also be a Linear whose output reaches the group only through a per-channel product (LLaMA's SwiGLU: up_proj →
``silu(gate) · up`` → down_proj): its output rows (weight and bias) are divided instead. Then every linear reached
by calibration gets int8 per-channel weights and a static per-tensor int8 input scale ``amax / 127`` (of its
smoothed input): TensorRT's only static form (O3 in the paper), as activations cannot be quantized per channel.
Linears after GELU (Whisper's fc2) are quantized without smoothing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import torch
from torch import nn

from .calibrate import calibrate
from .weight import QuantizedWeight, quantize_weight


def smooth_scales(act_amax: torch.Tensor, weights: Sequence[torch.Tensor], alpha: float = 0.5) -> torch.Tensor:
    """The per-input-channel smoothing factor (K,) for linears sharing an input with absmax ``act_amax`` (K,)."""
    w_amax = torch.stack([w.detach().float().abs().amax(0) for w in weights]).amax(0)
    return (act_amax.float().clamp(min=1e-5).pow(alpha) / w_amax.clamp(min=1e-5).pow(1 - alpha)).clamp(min=1e-5)


def smooth(norm: nn.LayerNorm | nn.RMSNorm | nn.Linear, linears: Sequence[nn.Linear], scales: torch.Tensor) -> None:
    """Fold ``1 / scales`` into ``norm`` (gamma, beta; a Linear's output rows) and ``scales`` into the linears'
    weight columns, in place."""
    with torch.no_grad():
        norm.weight.div_(scales[:, None] if isinstance(norm, nn.Linear) else scales)
        bias = getattr(norm, "bias", None)  # RMSNorm has none
        if isinstance(bias, torch.Tensor):
            bias.div_(scales)
        for linear in linears:
            linear.weight.mul_(scales)


def smoothquant(
    model: nn.Module,
    run: Callable[[nn.Module], object],
    groups: Sequence[tuple[str, Sequence[str]]],
    alpha: float = 0.5,
) -> tuple[nn.Module, dict[str, QuantizedWeight]]:
    """A smoothed copy of ``model`` and its W8A8 weights ({linear path: weight with ``act_scale``}) for
    ``NetworkHelper(quantized=...)``. ``groups``: (LayerNorm, RMSNorm or Linear path, [paths of the linears it
    feeds]; a Linear source must reach them through a per-channel product only, as SwiGLU's up_proj).

    Example:
        >>> smoothed, quantized = smoothquant(model, run, [("blocks.0.mlp_ln", ["blocks.0.mlp.0"])])
        >>> helper = NetworkHelper(torch.float16, quantized=quantized); helper(smoothed, x)
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"smoothquant: alpha={alpha} must be in [0, 1]")
    model = copy.deepcopy(model)
    modules = dict(model.named_modules())
    amax = calibrate(model, run)
    for norm_path, linear_paths in groups:
        missing = [p for p in (norm_path, *linear_paths) if p not in modules]
        if missing:
            raise ValueError(f"smoothquant: no module {missing} in the model")
        norm, linears = modules[norm_path], [modules[p] for p in linear_paths]
        if not isinstance(norm, (nn.LayerNorm, nn.RMSNorm, nn.Linear)) or not all(
            isinstance(m, nn.Linear) for m in linears
        ):
            raise TypeError(
                f"smoothquant: group ({norm_path!r}, {list(linear_paths)}) must be a LayerNorm, RMSNorm or Linear and "
                f"Linears, got {type(norm).__name__} and {[type(m).__name__ for m in linears]}"
            )
        linears = [m for m in linears if isinstance(m, nn.Linear)]
        scales = smooth_scales(amax[linear_paths[0]], [linear.weight for linear in linears], alpha)
        smooth(norm, linears, scales)
        for path in linear_paths:
            amax[path] = amax[path] / scales
    quantized = {}
    for path, x_amax in amax.items():
        qw = quantize_weight(modules[path].get_parameter("weight"), 8, where=f"smoothquant at '{path}'")
        qw.act_scale = max(float(x_amax.max()), 1e-8) / 127
        quantized[path] = qw
    return model, quantized
