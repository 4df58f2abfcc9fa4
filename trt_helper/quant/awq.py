"""Activation-aware weight quantization (AWQ-style scale search, after llm-awq's ``auto_scale``), per linear.

Input channels that carry large activations matter more. For ``ratio`` in 0, 0.05, … 0.95 the search scales
weight column j by ``s_j = mean|x_j| ** ratio`` (normalized by ``sqrt(max s · min s)``), quantizes ``W · diag(s)``
round-to-nearest, and keeps the ratio with the lowest ``‖X Ŵᵀ − X Wᵀ‖²`` on calibration rows X, where
``Ŵ = dequantize(W · diag(s)) · diag(s)⁻¹``. Ratio 0 is plain round-to-nearest, so on the calibration rows the
search never does worse. The linear then multiplies its input by ``1 / s`` (one elementwise layer before the
matmul; llm-awq folds it into the preceding LayerNorm instead). Differences from llm-awq: one linear at a time
(llm-awq scores a whole attention / MLP block) and no weight clipping search.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .calibrate import collect_inputs
from .weight import QuantizedWeight, quantize_weight

RATIOS = tuple(i / 20 for i in range(20))


def _output_error(x: torch.Tensor, w: torch.Tensor, qw: QuantizedWeight) -> float:
    return float(((x @ qw.dequantize().T) - (x @ w.T)).pow(2).mean())


def awq_search(
    w: torch.Tensor, x: torch.Tensor, bits: int = 4, group_size: int | None = 128, where: str = "awq_search"
) -> tuple[QuantizedWeight, float, float]:
    """The best-scaled quantization of ``w`` (N, K) for calibration rows ``x`` (M, K): (weight, its mean squared
    output error, round-to-nearest's).

    Example:
        >>> qw, err, rtn_err = awq_search(linear.weight, rows, bits=4, group_size=128)
    """
    w = w.detach().float().cpu()
    if x.dim() != 2 or x.shape[1] != w.shape[1]:
        raise ValueError(
            f"{where}: calibration rows {tuple(x.shape)} do not match weight {tuple(w.shape)} "
            f"(expected (M, {w.shape[1]}))"
        )
    x = x.float()
    x_mean = x.abs().mean(0).clamp(min=1e-4)
    best, best_err, rtn_err = None, float("inf"), float("inf")
    for ratio in RATIOS:
        s = x_mean.pow(ratio)
        s = s / (s.max() * s.min()).sqrt()
        qw = quantize_weight(w * s, bits, group_size, where=where)
        qw.input_scale = s if ratio else None
        err = _output_error(x, w, qw)
        if ratio == 0:
            rtn_err = err
        if err < best_err:
            best, best_err = qw, err
    assert best is not None
    return best, best_err, rtn_err


def awq_quantize(
    model: nn.Module,
    run: Callable[[nn.Module], object],
    bits: int = 4,
    group_size: int | None = 128,
    max_rows: int = 512,
) -> tuple[dict[str, QuantizedWeight], dict[str, tuple[float, float]]]:
    """Search every ``nn.Linear`` that ``run(model)`` reaches: ({module path: weight} for
    ``NetworkHelper(quantized=...)``, {module path: (AWQ error, round-to-nearest error)} on the calibration rows).

    Example:
        >>> quantized, errors = awq_quantize(model, lambda m: m(calibration_batch), bits=4, group_size=128)
        >>> helper = NetworkHelper(torch.float16, weights="int4", group_size=128, quantized=quantized)
    """
    rows = collect_inputs(model, run, (nn.Linear,), max_rows)
    modules = dict(model.named_modules())
    quantized, errors = {}, {}
    for path, x in rows.items():
        weight = modules[path].get_parameter("weight")
        qw, err, rtn = awq_search(weight, x, bits, group_size, where=f"awq_quantize at '{path}'")
        quantized[path], errors[path] = qw, (err, rtn)
    return quantized, errors
