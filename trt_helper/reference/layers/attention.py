"""Attention (IAttention's boundary layers), rotary embedding, KV-cache update and mixture of experts."""

from __future__ import annotations

import math
from typing import cast

import torch
import torch.nn.functional as F

from ..dtypes import round_to
from ..registry import ReferenceError, evaluator
from .common import f32


@evaluator("ATTENTION_INPUT")
def attention_input(layer, inputs, trt, device):
    """``normalize(Q Kᵀ + mask) V`` (no scaling: the caller scales Q). Inputs: query, key, value, then the
    optional mask (bool: True attends; else added), normalization-quantize scale, query lengths, key/value lengths.
    Key/value heads are shared by ``Hq / Hkv`` query heads. Causal masks anchor upper-left (``j ≤ i``) or
    lower-right (``j ≤ i + S_kv - S_q``). Packed forms take cumulative lengths ``[0, n0, n0+n1, …]``."""
    attention = layer.attention
    q, k, v = (f32(t) for t in inputs[:3])
    extra = list(inputs[3:]) + [None] * (7 - len(inputs))
    mask, quantize_scale, query_lengths, kv_lengths = extra[:4]
    packed_q, packed_kv = attention.query_form.name == "PACKED_NHD", attention.key_value_form.name == "PACKED_NHD"
    if packed_q or packed_kv:
        return [_packed(attention, q, k, v, mask, quantize_scale, query_lengths, kv_lengths, packed_q, packed_kv)]
    valid = None
    if kv_lengths is not None:
        valid = torch.arange(k.shape[2], device=k.device) < kv_lengths.reshape(-1, 1, 1, 1).long()
    out = _attend(attention, q, k, v, mask, quantize_scale, valid)
    if query_lengths is not None:
        rows = torch.arange(q.shape[2], device=q.device).reshape(1, 1, -1, 1) < query_lengths.reshape(-1, 1, 1, 1)
        out = torch.where(rows, out, 0.0)
    return [out]


def _attend(attention, q, k, v, mask, quantize_scale, valid):
    groups = q.shape[1] // k.shape[1]
    if groups * k.shape[1] != q.shape[1]:
        raise ReferenceError(
            f"reference: attention '{attention.name}': {q.shape[1]} query heads are not a multiple "
            f"of {k.shape[1]} key/value heads"
        )
    k, v = k.repeat_interleave(groups, 1), v.repeat_interleave(groups, 1)
    scores = q @ k.transpose(-1, -2)
    allowed = torch.ones(scores.shape[-2:], dtype=torch.bool, device=q.device)
    kind = attention.causal_kind.name
    if kind != "NONE":
        s_q, s_kv = scores.shape[-2:]
        offset = s_kv - s_q if kind == "LOWER_RIGHT" else 0
        allowed = torch.ones(s_q, s_kv, dtype=torch.bool, device=q.device).tril(offset)
    if valid is not None:
        allowed = allowed & valid
    if mask is not None:
        if mask.dtype == torch.bool:
            allowed = allowed & mask
        else:
            scores = scores + f32(mask)
    scores = torch.where(allowed, scores, -math.inf)
    if attention.norm_op.name == "SOFTMAX":
        probs = torch.softmax(scores, -1).nan_to_num(0.0)  # a row with nothing allowed gives 0
    else:
        probs = torch.where(allowed, scores, 0.0)
    if quantize_scale is not None:
        scale = f32(quantize_scale).reshape(-1)[0]
        probs = round_to(probs / scale, attention.normalization_quantize_to_type).float() * scale
    return probs @ v


def _packed(attention, q, k, v, mask, quantize_scale, query_lengths, kv_lengths, packed_q, packed_kv):
    lengths = query_lengths if packed_q else kv_lengths
    batch = lengths.numel() - 1 if packed_q else q.shape[0]
    outputs = []
    for b in range(batch):
        if packed_q:
            start, end = int(query_lengths[b]), int(query_lengths[b + 1])
            qb = q[start:end].permute(1, 0, 2).unsqueeze(0)
        else:
            qb = q[b : b + 1]
        if packed_kv:
            start, end = int(kv_lengths[b]), int(kv_lengths[b + 1])
            kb, vb = (t[start:end].permute(1, 0, 2).unsqueeze(0) for t in (k, v))
        else:
            kb, vb = k[b : b + 1], v[b : b + 1]
        mb = mask[b : b + 1] if mask is not None and mask.shape[0] > 1 else mask
        out = _attend(attention, qb, kb, vb, mb, quantize_scale, None)
        outputs.append(out[0].permute(1, 0, 2) if packed_q else out)
    return torch.cat(outputs, 0)


@evaluator("ATTENTION_OUTPUT")
def attention_output(layer, inputs, trt, device):
    return [inputs[0]]


@evaluator("ROTARY_EMBEDDING")
def rotary_embedding(layer, inputs, trt, device):
    """RoPE on the first ``rotary_embedding_dim`` (0: all) features of x ``[B, H, S, D]``: pairs ``(x_i, x_{i+r/2})``
    (or adjacent pairs when interleaved) rotated by cos/sin ``[B, S, r/2]``, or ``cache[position_ids]``."""
    x, cos, sin = (f32(t) for t in inputs[:3])
    if len(inputs) > 3 and inputs[3] is not None:
        ids = inputs[3].long()
        cos, sin = cos[ids], sin[ids]
    rotary = layer.rotary_embedding_dim or x.shape[-1]
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
    part, rest = x[..., :rotary], x[..., rotary:]
    if layer.interleaved:
        first, second = part[..., 0::2], part[..., 1::2]
    else:
        first, second = part[..., : rotary // 2], part[..., rotary // 2 :]
    out_first, out_second = first * cos - second * sin, second * cos + first * sin
    if layer.interleaved:
        rotated = torch.stack([out_first, out_second], -1).flatten(-2)
    else:
        rotated = torch.cat([out_first, out_second], -1)
    return [torch.cat([rotated, rest], -1)]


@evaluator("KV_CACHE_UPDATE")
def kv_cache_update(layer, inputs, trt, device):
    """``out[i, :, write_indices[i] + s, :] = update[i, :, s, :]``; the rest of the cache unchanged."""
    cache, update, write = inputs
    out = cache.clone()
    for i in range(cache.shape[0]):
        start = int(write[i])
        out[i, :, start : start + update.shape[2]] = update[i].to(out.dtype)
    return [out]


@evaluator("MOE")
def moe(layer, inputs, trt, device):
    """Per token: ``Σ_k score_k · down_e(up_e(x) · silu(gate_e(x)))`` over its selected experts ``e``
    (weights ``[E, in, out]``, optional biases ``[E, out]``)."""
    if layer.quantization_to_type.name not in ("FLOAT", "HALF", "BF16") and layer.quantization_block_shape:
        raise ReferenceError(f"reference: MoE layer '{layer.name}': quantized experts are not supported")
    hidden, experts, scores = f32(inputs[0]), inputs[1].long(), f32(inputs[2])
    gate, up, down = (f32(t) for t in inputs[3:6])
    biases = [f32(t) if t is not None else None for t in (list(inputs[6:9]) + [None] * 3)[:3]]
    activation = {"SILU": F.silu, "NONE": lambda t: t}[layer.activation_type.name]
    tokens = hidden.reshape(-1, hidden.shape[-1])
    chosen, weights = experts.reshape(tokens.shape[0], -1), scores.reshape(tokens.shape[0], -1)
    out = torch.zeros_like(tokens)
    for t in range(tokens.shape[0]):
        for e, w in zip(chosen[t].tolist(), weights[t]):
            g, u = tokens[t] @ gate[e], tokens[t] @ up[e]
            if biases[0] is not None:
                # TensorRT sets the gate and up biases together (setGatedBiases)
                g, u = g + biases[0][e], u + cast(torch.Tensor, biases[1])[e]
            y = (u * activation(g)) @ down[e]
            out[t] += w * (y + biases[2][e] if biases[2] is not None else y)
    return [out.reshape(hidden.shape)]
