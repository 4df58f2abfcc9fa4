"""torch.nn.MultiheadAttention (eval): projections, per-head attention, output projection, optional weights."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..core import ITensor, NetworkHelper, leaf, op
from .attention import Mask, as_tensor, attention_probs
from .binary import addAdd, addOr
from .cast import addCast
from .constant import addConstant
from .linear import addLinear, check_features
from .matmul import addMatMul
from .permute import addPermute, addTranspose
from .reduce import addMean
from .reshape import addFlatten, addUnflatten
from .squeeze import addUnsqueeze
from .unary import addNot
from .where import addWhere


def _project(helper: NetworkHelper, x: ITensor, weight: torch.Tensor, bias: torch.Tensor | None, what: str) -> ITensor:
    """``x @ weightᵀ + bias`` for x (B, T, in) → (B, T, out)."""
    dtype = helper.torch_dtype(x)
    out = addMatMul(
        helper,
        x,
        addConstant(helper, weight.detach().T.unsqueeze(0), dtype=dtype, name=f"{what}_weight"),
        name=f"{what}_proj",
    )
    if bias is None:
        return out
    return addAdd(helper, out, addConstant(helper, bias.detach().reshape(1, 1, -1), dtype=dtype, name=f"{what}_bias"))


def _heads(helper: NetworkHelper, x: ITensor, heads: int, what: str) -> ITensor:
    """(B, T, H·d) → (B, H, T, d)."""
    return addPermute(helper, addUnflatten(helper, x, -1, (heads, -1), name=f"{what}_heads"), (0, 2, 1, 3))


def _additive(helper: NetworkHelper, mask: ITensor, dtype: torch.dtype) -> ITensor:
    """A torch MHA mask (bool True = masked out, or floating = added) as a floating mask to add."""
    if helper.torch_dtype(mask) == torch.bool:
        return addWhere(helper, mask, float("-inf"), addConstant(helper, torch.zeros(()), dtype=dtype, name="zero"))
    return addCast(helper, mask, dtype)


def combined_mask(
    helper: NetworkHelper, key_padding_mask: Mask, attn_mask: Mask, heads: int, dtype: torch.dtype
) -> ITensor | None:
    """torch's key_padding_mask (B, S) and attn_mask ((T, S) or (B·H, T, S)) as one mask for attention_probs:
    bool True = attend when both are bool, else floating (added)."""
    key_padding = as_tensor(helper, key_padding_mask, "key_padding_mask")
    attn = as_tensor(helper, attn_mask, "attn_mask")
    if key_padding is not None:
        helper.check_rank(key_padding, (2,), "key_padding_mask")
        key_padding = addUnsqueeze(helper, key_padding, [1, 2], name="key_padding")  # (B, 1, 1, S)
    if attn is not None:
        helper.check_rank(attn, (2, 3), "attn_mask")
        if len(attn.shape) == 3:
            attn = addUnflatten(helper, attn, 0, (-1, heads), name="attn_mask_heads")  # (B, H, T, S)
    masks = [m for m in (key_padding, attn) if m is not None]
    if not masks:
        return None
    if all(helper.torch_dtype(m) == torch.bool for m in masks):
        masked = masks[0] if len(masks) == 1 else addOr(helper, *masks)
        return addNot(helper, masked, name="allowed")
    total = _additive(helper, masks[0], dtype)
    return total if len(masks) == 1 else addAdd(helper, total, _additive(helper, masks[1], dtype))


@op(module=nn.MultiheadAttention)
def addMultiheadAttention(
    helper: NetworkHelper,
    module: nn.MultiheadAttention,
    query: ITensor,
    key: ITensor,
    value: ITensor,
    key_padding_mask: Mask = None,
    need_weights: bool = True,
    attn_mask: Mask = None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
) -> tuple[ITensor, ITensor | None]:
    """``module(query, key, value, key_padding_mask, need_weights, attn_mask, average_attn_weights, is_causal)``
    for ``torch.nn.MultiheadAttention`` in eval mode → ``(output, weights or None)`` like torch. Batch first or
    not, kdim/vdim, bias on or off; masks are network or torch tensors, bool (True = masked out) or floating;
    ``is_causal`` without ``attn_mask`` applies the causal mask.

    Example:
        >>> out, _ = helper.addMultiheadAttention(self.self_attn, x, x, x, key_padding_mask=pad, need_weights=False)
    """
    if module.bias_k is not None or module.add_zero_attn:
        raise ValueError(
            f"{helper.where()}: MultiheadAttention(add_bias_kv={module.bias_k is not None}, "
            f"add_zero_attn={module.add_zero_attn}) is not supported"
        )
    for t, what in ((query, "query"), (key, "key"), (value, "value")):
        helper.check_rank(t, (3,), what)
        helper.check_float(t, what)
    check_features(helper, query, 2, module.embed_dim, "features")
    check_features(helper, key, 2, module.kdim, "features")
    check_features(helper, value, 2, module.vdim, "features")
    if not module.batch_first:  # (T, B, E) -> (B, T, E)
        query, key, value = (
            addTranspose(helper, t, 0, 1, name=f"{w}_batch_first")
            for t, w in ((query, "query"), (key, "key"), (value, "value"))
        )
    e, heads = module.embed_dim, module.num_heads
    bias = module.in_proj_bias
    if module.in_proj_weight is not None:
        weights: list[Any] = list(module.in_proj_weight.split(e))
    else:
        weights = [module.q_proj_weight, module.k_proj_weight, module.v_proj_weight]
    biases: list[Any] = list(bias.split(e)) if bias is not None else [None] * 3
    q, k, v = (
        _heads(helper, _project(helper, t, w, b, what), heads, what)
        for t, w, b, what in zip((query, key, value), weights, biases, ("q", "k", "v"))
    )
    mask = combined_mask(helper, key_padding_mask, attn_mask, heads, helper.torch_dtype(q))
    probs = attention_probs(helper, q, k, mask, is_causal and attn_mask is None, None)
    context = addFlatten(helper, addPermute(helper, addMatMul(helper, probs, v, name="context"), (0, 2, 1, 3)), 2)
    out = addLinear(helper, module.out_proj, context)
    if not module.batch_first:
        out = addTranspose(helper, out, 0, 1, name="seq_first")
    if not need_weights:
        return out, None
    return out, addMean(helper, probs, 1, name="weights") if average_attn_weights else probs


leaf(nn.MultiheadAttention, addMultiheadAttention)
