"""Quantization schemes for trt_helper networks (see README.md here for which backend takes which).

- :mod:`.weight`: round-to-nearest int8 / int4 weights, per channel or block-wise, symmetric or asymmetric (block
  offsets) (:func:`quantize_weight`, :class:`QuantizedWeight`, the INT4 packing);
- :mod:`.calibrate`: per-tensor / per-channel absmax and input samples from the PyTorch model, or absmax from the
  network through the reference executor (:func:`calibrate_network`);
- :mod:`.kv_cache`: the int8 KV cache's scales and its quantize-on-write / dequantize-on-read in PyTorch;
- :mod:`.awq`: AWQ for weight-only int4/int8 (block-scored scale search and weight clipping, after llm-awq);
- :mod:`.gptq`: GPTQ for weight-only int4/int8 (column-by-column rounding with Hessian-weighted error feedback);
- :mod:`.smoothquant`: SmoothQuant W8A8;
- :mod:`.fake`: the PyTorch model with the same quantized weights;
- :mod:`.woq_layout`: the packed weight layout of the WeightOnlyGemm plugin (``addLinear(impl="plugin")``).
"""

from .awq import ScaleGroup, awq_quantize, clip_search
from .calibrate import NetworkCalibrator, calibrate, calibrate_network, collect_inputs
from .fake import fake_quantized, quantize_linears
from .gptq import gptq_quantize, gptq_weight, hessians
from .weight import QuantizedWeight, pack_int4, quantize_weight, unpack_int4

__all__ = [
    "QuantizedWeight",
    "quantize_weight",
    "pack_int4",
    "unpack_int4",
    "calibrate",
    "calibrate_network",
    "NetworkCalibrator",
    "collect_inputs",
    "ScaleGroup",
    "awq_quantize",
    "clip_search",
    "gptq_quantize",
    "gptq_weight",
    "hessians",
    "quantize_linears",
    "fake_quantized",
]
