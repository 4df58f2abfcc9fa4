"""Quantize / dequantize (TensorRT's IQuantizeLayer / IDequantizeLayer) and dequantized weight constants.

Scales are constants: a python number or 0-d tensor (per tensor), a 1-D tensor of ``x.shape[axis]`` values (per
axis; TensorRT allows it only for tensors rooted at a constant, i.e. weights) or a tensor of ``x``'s rank whose one
differing dim divides ``x``'s (per block along that dim). Symmetric only (TensorRT takes no non-zero zero point).
``quantize``: ``clamp(round_half_even(x / scale))`` to [-128, 127] (int8), [-8, 7] (int4) or ±448 (fp8 e4m3);
``dequantize``: ``q · scale``.
"""

from __future__ import annotations

from typing import Any

import torch

from ..core import ITensor, NetworkHelper, op
from ..quant.weight import QuantizedWeight
from .constant import addConstant

#: quantized type name -> TensorRT DataType attribute
QUANTIZED_TYPES = {"int8": "int8", "int4": "int4", "fp8": "fp8"}


def _quantized_type(helper: NetworkHelper, dtype: str) -> Any:
    if dtype not in QUANTIZED_TYPES or not hasattr(helper.trt, QUANTIZED_TYPES[dtype]):
        have = [t for t, attr in QUANTIZED_TYPES.items() if hasattr(helper.trt, attr)]
        raise ValueError(f"{helper.where()}: dtype={dtype!r} is not a quantized type of this backend ({have})")
    return getattr(helper.trt, QUANTIZED_TYPES[dtype])


def _scale(helper: NetworkHelper, x: ITensor, scale: Any, axis: int | None, dtype: torch.dtype) -> tuple[ITensor, int]:
    """The scale constant and the layer's axis, after checking the scale's shape against ``x``'s."""
    value = torch.as_tensor(scale, dtype=torch.float32).detach().cpu()
    shape = helper.shape(x)
    if not torch.isfinite(value).all() or (value <= 0).any():
        raise ValueError(
            f"{helper.where()}: scales must be finite and > 0, got min {value.min().item():.3g} for input {shape}"
        )
    if value.dim() == 0 or value.numel() == 1 and value.dim() <= 1:
        # shape (1,), not (): TensorRT-RTX 1.7.1's builder crashes (SIGSEGV) on a 0-d quantize scale of a 2-D weight
        return addConstant(helper, value.reshape(1), dtype=dtype, name="scale"), -1
    if value.dim() == 1:
        if axis is None:
            raise ValueError(f"{helper.where()}: a per-axis scale {tuple(value.shape)} needs axis= (input {shape})")
        axis = helper.dim(x, axis)
        if shape[axis] not in (-1, value.numel()):
            raise ValueError(
                f"{helper.where()}: per-axis scale has {value.numel()} values, input {shape} has "
                f"{shape[axis]} in dim {axis}"
            )
        return addConstant(helper, value, dtype=dtype, name="scale"), axis
    blocked = (
        [d for d in range(len(shape)) if value.shape[d : d + 1] != (shape[d],)] if value.dim() == len(shape) else []
    )
    if len(blocked) != 1 or shape[blocked[0]] == -1 or shape[blocked[0]] % value.shape[blocked[0]]:
        raise ValueError(
            f"{helper.where()}: scale {tuple(value.shape)} is neither per tensor, per axis nor per "
            f"block of input {shape} (a block scale has the input's rank and one dim dividing it)"
        )
    return addConstant(helper, value, dtype=dtype, name="scale"), blocked[0]


@op
def addQuantize(helper: NetworkHelper, x: ITensor, scale: Any, dtype: str = "int8", axis: int | None = None) -> ITensor:
    """``x`` quantized to ``dtype`` ("int8", "int4", "fp8" — e4m3) with a per-tensor, per-axis or block scale.

    Example:
        >>> q = helper.addQuantize(x, 0.02)                    # int8, per tensor
    """
    helper.check_float(x)
    to = _quantized_type(helper, dtype)
    scale_tensor, axis = _scale(helper, x, scale, axis, helper.torch_dtype(x))
    layer = helper.finish(helper.network.add_quantize(x, scale_tensor, to), x)
    if axis >= 0:
        layer.axis = axis
    return layer.get_output(0)


@op
def addDequantize(
    helper: NetworkHelper, q: ITensor, scale: Any, dtype: torch.dtype | None = None, axis: int | None = None
) -> ITensor:
    """``q · scale`` for an int8 / int4 / fp8 tensor ``q``, in ``dtype`` (default: the network dtype).

    Example:
        >>> x = helper.addDequantize(helper.addQuantize(x, 0.02), 0.02)
    """
    helper.check_tensor(q)
    if q.dtype not in [getattr(helper.trt, t) for t in QUANTIZED_TYPES.values() if hasattr(helper.trt, t)]:
        raise TypeError(
            f"{helper.where()}: input must be int8, int4 or fp8, got {q.dtype} with shape {helper.shape(q)}"
        )
    dtype = dtype or helper.dtype
    scale_tensor, axis = _scale(helper, q, scale, axis, dtype)
    layer = helper.finish(helper.network.add_dequantize(q, scale_tensor, helper.trt_dtype(dtype)), q)
    if axis >= 0:
        layer.axis = axis
    return layer.get_output(0)


def dequantized_weight(helper: NetworkHelper, qw: QuantizedWeight, rank: int, dtype: torch.dtype) -> ITensor:
    """``qw`` as quantized constants feeding a dequantize layer, shaped (1, …, N, K) for a rank-``rank`` matmul.

    int8 values are an INT8 constant. int4 values enter as exact small integers in ``dtype`` quantized with
    scale 1 (TensorRT folds that into a packed INT4 constant: the plan stores the same bytes as an INT4
    ``Weights``, and the reference executor can read the constant, which it cannot for INT4 ``Weights``).
    """
    lead = (1,) * (rank - 2)
    values = qw.values.reshape(lead + tuple(qw.values.shape))
    if qw.bits == 8:
        q = addConstant(helper, values, dtype=torch.int8, name="weight")
    else:
        q = addQuantize(
            helper, addConstant(helper, values, dtype=dtype, name="weight"), 1.0, "int4", name="weight_int4"
        )
    if qw.group_size is None:
        return addDequantize(helper, q, qw.scales, dtype, axis=rank - 2, name="weight_dq")
    return addDequantize(helper, q, qw.scales.reshape(lead + tuple(qw.scales.shape)), dtype, name="weight_dq")
