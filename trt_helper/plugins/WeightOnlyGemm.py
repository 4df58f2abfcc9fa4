"""WeightOnlyGemm plugin: a W4A16 / W8A16 linear layer, ``y = x · (q · s)ᵀ (+ bias)``.

Inputs x (…, K) fp16/bf16 (no fp32), the packed int8 weights of ``trt_helper.quant.woq_layout.pack``, scales (N) or
(K / group_size, N) like x, optional bias (N); fields ``bits`` (4|8), ``group_size`` (0 = per channel, 64, 128),
``has_bias`` (0|1); output (…, N). Helper: ``helper.addLinear(module, x, weights="int4"|"int8", impl="plugin")``
(``impl="auto"`` takes it where the backend adds plugin layers and the weight fits it, the dequantize form else).
"""

from __future__ import annotations

import torch

from ..core import ITensor, NetworkHelper
from ..ops.constant import addConstant
from ..quant import QuantizedWeight
from ..quant.woq_layout import pack
from .library import add_plugin_layer

NAME = "WeightOnlyGemm"
#: N = 40 (packed to 48 rows), K = 256 packed two per byte, scales (K / 128, N)
EXAMPLE = (
    {"bits": 4, "group_size": 128},
    [((3, 5, 256), "float16"), ((48, 128), "int8"), ((2, 40), "float16")],
    [((3, 5, 40), "float16")],
)
BAD_FIELDS = [
    ({"group_size": 128}, "missing"),
    ({"bits": 3, "group_size": 128}, "'bits' must be 4 or 8"),
    ({"bits": 4, "group_size": 100}, "'group_size' must be 0 (per channel), 64 or 128"),
    ({"bits": 4.0, "group_size": 0}, "INT32"),
    ({"bits": 8, "group_size": 0, "has_bias": 2}, "has_bias"),
]
#: floating types input 0 may take (the other plugins also take float32)
FLOAT_TYPES = ("float16", "bfloat16")


def dequantize(q: torch.Tensor, scales: torch.Tensor, group_size: int) -> torch.Tensor:
    """W = q · s in float64, q (N, K) int8, s (N,) or (K / group_size, N)."""
    s = scales.double()
    if group_size == 0:
        return q.double() * s[:, None]
    return q.double() * s.t().repeat_interleave(group_size, dim=1)


def reference(
    x: torch.Tensor, q: torch.Tensor, scales: torch.Tensor, group_size: int, bias: torch.Tensor | None = None
) -> torch.Tensor:
    """x (…, K) · dequantize(q, s)ᵀ (+ bias): dequantize, then matmul in float32 on x's device; float64 out."""
    w = dequantize(q, scales, group_size).float()
    y = x.float() @ w.t()
    if bias is not None:
        y = y + bias.float()
    return y.double()


def unsupported(qw: QuantizedWeight, dtype: torch.dtype) -> str | None:
    """Why the plugin cannot run this quantized weight on activations of ``dtype`` (None: it can)."""
    if dtype not in (torch.float16, torch.bfloat16):
        return f"WeightOnlyGemm takes fp16/bf16 activations, got {dtype}"
    if qw.group_size not in (None, 64, 128):
        return f"WeightOnlyGemm takes per-channel, g64 or g128 scales, got group_size={qw.group_size}"
    if qw.input_scale is not None or qw.act_scale is not None:
        return "WeightOnlyGemm is weight-only: no activation-aware input scale or int8 activations"
    if qw.offsets is not None:
        return "WeightOnlyGemm takes symmetric weights: no block offsets"
    if qw.values.shape[1] % 16:
        return f"WeightOnlyGemm needs K a multiple of 16, got weight {tuple(qw.values.shape)}"
    return None


def plugin_tensors(qw: QuantizedWeight) -> tuple[torch.Tensor, torch.Tensor]:
    """``(packed weights, scales)`` as the plugin takes them: the tile layout of :func:`pack`, scales (N,) or
    (K / group_size, N)."""
    scales = qw.scales if qw.group_size is None else qw.scales.t().contiguous()
    return pack(qw.values, qw.bits), scales


def plugin_linear(helper: NetworkHelper, qw: QuantizedWeight, x: ITensor, bias: torch.Tensor | None) -> ITensor:
    """The WeightOnlyGemm layer of a quantized ``nn.Linear`` (called by ``addLinear``)."""
    dtype = helper.torch_dtype(x)
    reason = unsupported(qw, dtype)
    if reason is not None:
        raise ValueError(f"{helper.where()}: impl='plugin': {reason}")
    packed, scales = plugin_tensors(qw)
    inputs = [
        x,
        addConstant(helper, packed, dtype=torch.int8, name="packed_weight"),
        addConstant(helper, scales, dtype=dtype, name="scales"),
    ]
    if bias is not None:
        inputs.append(addConstant(helper, bias, dtype=dtype, name="bias"))
    fields = {"bits": qw.bits, "group_size": qw.group_size or 0, "has_bias": int(bias is not None)}
    return add_plugin_layer(helper, NAME, fields, inputs)[0]
