"""Scaled dot-product attention (``torch.nn.functional.scaled_dot_product_attention`` semantics, GQA included):
TensorRT's attention layer, or composed of matrix products and a softmax in fp32 islands."""

from __future__ import annotations

import math
from typing import Any

import torch

from ..core import ITensor, NetworkHelper, op
from .arange import addArange
from .binary import addAdd, addAnd, addLess, addMul
from .cast import addCast
from .constant import addConstant
from .gather import addIndexSelect
from .matmul import addMatMul
from .shape_of import addShapeOf
from .softmax import addSoftmax
from .squeeze import addUnsqueeze
from .where import addWhere

Mask = ITensor | torch.Tensor | None


def as_tensor(helper: NetworkHelper, mask: Any, what: str) -> ITensor | None:
    """A mask given as a network tensor or a torch tensor (made a constant), or None."""
    if mask is None or helper.is_tensor(mask):
        return mask
    if isinstance(mask, torch.Tensor):
        return addConstant(helper, mask, dtype=torch.bool if mask.dtype == torch.bool else None, name=what)
    raise TypeError(
        f"{helper.where()}: {what} must be a network tensor, a torch tensor or None, got {type(mask).__name__}"
    )


def causal_allowed(helper: NetworkHelper, q: ITensor, k: ITensor) -> ITensor:
    """bool (T, S): ``s <= t`` (the top-left aligned lower triangle, as ``is_causal=True``)."""
    rows = addUnsqueeze(helper, addArange(helper, addShapeOf(helper, q, -2)), 1, name="rows")
    cols = addUnsqueeze(helper, addArange(helper, addShapeOf(helper, k, -2)), 0, name="cols")
    return addLess(helper, cols, addAdd(helper, rows, 1), name="causal")


def attention_probs(
    helper: NetworkHelper, q: ITensor, k: ITensor, mask: ITensor | None, causal: bool, scale: float | None
) -> ITensor:
    """``softmax(q kᵀ · scale + mask)`` (B, …, T, S) for q (…, T, d) and k (…, S, d) with equal heads. ``mask``:
    bool (True = attend) or floating (added), broadcastable to the scores."""
    helper.check_float(q, "q")
    helper.check_float(k, "k")
    depth = helper.shape(q)[-1]
    if depth == -1 and scale is None:
        raise ValueError(f"{helper.where()}: q {helper.shape(q)} needs a static head dim (or give scale)")
    scale = 1.0 / math.sqrt(depth) if scale is None else float(scale)
    scores = addMatMul(helper, addMul(helper, q, scale, name="scaled_q"), k, transpose_b=True, name="scores")
    allowed = causal_allowed(helper, q, k) if causal else None
    if mask is not None:
        helper.check_tensor(mask, "mask")
        if helper.torch_dtype(mask) == torch.bool:
            allowed = mask if allowed is None else addAnd(helper, allowed, mask)
        else:
            scores = addAdd(helper, scores, addCast(helper, mask, helper.torch_dtype(scores)), name="masked")
    if allowed is not None:
        scores = addWhere(helper, allowed, scores, float("-inf"), name="masked")
    return addSoftmax(helper, scores, -1, name="probs")


def _fused(
    helper: NetworkHelper, q: ITensor, k: ITensor, v: ITensor, mask: ITensor | None, causal: bool, scale: float
) -> ITensor:
    """TensorRT's attention layer (decomposable where no fused kernel applies); it takes a causal kind or a mask,
    so a mask with ``causal`` carries the causal triangle itself."""
    trt = helper.trt
    if mask is not None:
        m: ITensor = mask
        if causal:
            allowed = causal_allowed(helper, q, k)
            m = (
                addAnd(helper, allowed, m)
                if helper.torch_dtype(m) == torch.bool
                else addWhere(helper, allowed, addCast(helper, m, helper.torch_dtype(q)), float("-inf"))
            )
        elif helper.torch_dtype(m) != torch.bool:
            m = addCast(helper, m, helper.torch_dtype(q), name="mask")
        rank = len(helper.shape(m))
        mask = addUnsqueeze(helper, m, list(range(4 - rank)), name="mask") if rank < 4 else m
    kind = trt.CausalMaskKind.UPPER_LEFT if causal and mask is None else trt.CausalMaskKind.NONE
    scaled = addMul(helper, q, scale, name="scaled_q")
    layer = helper.network.add_attention_v2(scaled, k, v, trt.AttentionNormalizationOp.SOFTMAX, kind)
    if layer is not None:
        layer.decomposable = True
        if mask is not None:
            layer.mask = mask
    return helper.finish(layer, scaled, k, v).get_output(0)


@op
def addAttention(
    helper: NetworkHelper,
    q: ITensor,
    k: ITensor,
    v: ITensor,
    mask: Mask = None,
    causal: bool = False,
    scale: float | None = None,
    fused: bool | None = None,
) -> ITensor:
    """``torch.nn.functional.scaled_dot_product_attention(q, k, v, mask, is_causal=causal, scale=scale,
    enable_gqa=True)`` for q (B, H, T, d), k (B, Hkv, S, d), v (B, Hkv, S, dv) with H a multiple of Hkv (grouped
    query attention). ``mask``: bool (True = attend) or floating (added to the scores), broadcastable to
    (B, H, T, S); a network or torch tensor. ``fused``: TensorRT's attention layer or the composed form (matrix
    products, softmax in fp32 inside fp16/bf16 networks), the same results; default: the layer where the backend
    has one and no mask is given (TensorRT-RTX 1.7's builder crashes on networks with two masked attention
    layers).

    Example:
        >>> context = helper.addAttention(q, k, v, causal=True)
    """
    for t, what in ((q, "q"), (k, "k"), (v, "v")):
        helper.check_rank(t, (4,), what)
    heads, kv_heads = helper.shape(q)[1], helper.shape(k)[1]
    if helper.shape(v)[1] != kv_heads or -1 in (heads, kv_heads) or heads % kv_heads:
        raise ValueError(
            f"{helper.where()}: q {helper.shape(q)}, k {helper.shape(k)}, v {helper.shape(v)}: the "
            f"head counts (dim 1) must be static, k's and v's equal and dividing q's"
        )
    has_layer = hasattr(helper.network, "add_attention_v2")
    if fused and not has_layer:
        raise ValueError(f"{helper.where()}: fused=True needs an attention layer; {helper.trt.__name__} has none")
    mask = as_tensor(helper, mask, "mask")
    if (has_layer and mask is None) if fused is None else fused:
        helper.check_float(q, "q")
        depth = helper.shape(q)[-1]
        if depth == -1 and scale is None:
            raise ValueError(f"{helper.where()}: q {helper.shape(q)} needs a static head dim (or give scale)")
        return _fused(helper, q, k, v, mask, causal, 1.0 / math.sqrt(depth) if scale is None else float(scale))
    if kv_heads != heads:
        picks = [h // (heads // kv_heads) for h in range(heads)]
        k = addIndexSelect(helper, k, 1, picks, name="k_heads")
        v = addIndexSelect(helper, v, 1, picks, name="v_heads")
    probs = attention_probs(helper, q, k, mask, causal, scale)
    return addMatMul(helper, probs, v, name="context")
