"""WeightOnlyGemm plugin: a W4A16 / W8A16 linear layer, ``y = x · (q · s)ᵀ (+ bias)``.

Inputs x (…, K) fp16/bf16 (no fp32), the packed int8 weights of ``trt_helper.woq_layout.pack``, scales (N) or
(K / group_size, N) like x, optional bias (N); fields ``bits`` (4|8), ``group_size`` (0 = per channel, 64, 128),
``has_bias`` (0|1); output (…, N). No helper op yet: ``addLinear(weights=…, impl="plugin")`` is wired by the core.
"""

from __future__ import annotations

import torch

NAME = "WeightOnlyGemm"
#: N = 40 (packed to 48 rows), K = 256 packed two per byte, scales (K / 128, N)
EXAMPLE = ({"bits": 4, "group_size": 128},
           [((3, 5, 256), "float16"), ((48, 128), "int8"), ((2, 40), "float16")], [((3, 5, 40), "float16")])
BAD_FIELDS = [({"group_size": 128}, "missing"), ({"bits": 3, "group_size": 128}, "'bits' must be 4 or 8"),
              ({"bits": 4, "group_size": 100}, "'group_size' must be 0 (per channel), 64 or 128"),
              ({"bits": 4.0, "group_size": 0}, "INT32"), ({"bits": 8, "group_size": 0, "has_bias": 2}, "has_bias")]
#: floating types input 0 may take (the other plugins also take float32)
FLOAT_TYPES = ("float16", "bfloat16")


def dequantize(q: torch.Tensor, scales: torch.Tensor, group_size: int) -> torch.Tensor:
    """W = q · s in float64, q (N, K) int8, s (N,) or (K / group_size, N)."""
    s = scales.double()
    if group_size == 0:
        return q.double() * s[:, None]
    return q.double() * s.t().repeat_interleave(group_size, dim=1)


def reference(x: torch.Tensor, q: torch.Tensor, scales: torch.Tensor, group_size: int,
              bias: torch.Tensor | None = None) -> torch.Tensor:
    """x (…, K) · dequantize(q, s)ᵀ (+ bias): dequantize, then matmul in float32 on x's device; float64 out."""
    w = dequantize(q, scales, group_size).float()
    y = x.float() @ w.t()
    if bias is not None:
        y = y + bias.float()
    return y.double()
