"""Int8 KV cache: per-tensor scales from calibration and PyTorch's quantize-on-write / dequantize-on-read.

A network stores its self-attention cache as int8 with ``helper.addQuantize(k, scale)`` on the present keys and
values and reads it back with ``helper.addDequantize(past_k, scale)``. :func:`quantize_cache` and
:func:`dequantize_cache` are the same arithmetic in PyTorch (TensorRT's: the scale rounded to the network dtype,
``clamp(round_half_even(x / scale), -128, 127)`` in fp32, ``q · scale``), so a PyTorch model can run with the cache
the network would hold.
"""

from __future__ import annotations

import torch

INT8_MAX = 127


def cache_scale(amax: float | torch.Tensor, where: str = "cache_scale") -> float:
    """The per-tensor int8 scale ``amax / 127`` of a cache whose calibrated absmax is ``amax``."""
    value = float(amax)
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{where}: calibrated absmax must be finite and > 0, got {value}")
    return value / INT8_MAX


def quantize_cache(x: torch.Tensor, scale: float) -> torch.Tensor:
    """``x`` as int8 with the scale rounded to ``x``'s dtype (what addQuantize does in a network of that dtype)."""
    step = torch.tensor(scale, dtype=x.dtype).float()
    return torch.round(x.float() / step).clamp(-INT8_MAX - 1, INT8_MAX).to(torch.int8)


def dequantize_cache(q: torch.Tensor, scale: float, dtype: torch.dtype) -> torch.Tensor:
    """``q · scale`` in ``dtype`` (the scale rounded to ``dtype``, as addDequantize's output type)."""
    if q.dtype != torch.int8:
        raise TypeError(f"dequantize_cache: expected an int8 cache, got {q.dtype} with shape {tuple(q.shape)}")
    return (q.float() * torch.tensor(scale, dtype=dtype).float()).to(dtype)
