"""Quantization schemes for trt_helper networks (see README.md here for which backend takes which).

- :mod:`.weight`: symmetric round-to-nearest int8 / int4 weights, per channel or block-wise
  (:func:`quantize_weight`, :class:`QuantizedWeight`, the INT4 packing).
"""

from .weight import QuantizedWeight, pack_int4, quantize_weight, unpack_int4

__all__ = ["QuantizedWeight", "quantize_weight", "pack_int4", "unpack_int4"]
