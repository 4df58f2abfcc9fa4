"""PyTorch reference implementations of the trt_helper plugins, written independently of the CUDA kernels.

Each follows the PyTorch/WeNet/FastMoE code the plugin replaces (masked_fill + softmax, mask slicing, a per-expert
loop), computes in float64 and returns float64 (int32 for lengths / indices).
"""

from __future__ import annotations

import math

import torch


def pad_mask(lengths: torch.Tensor, time: int) -> torch.Tensor:
    """(B, T) bool, True at valid positions t < len[b] (WeNet's ~make_pad_mask)."""
    return torch.arange(time, device=lengths.device)[None, :] < lengths.long()[:, None]


def layer_norm(x, gamma, beta, eps):
    return torch.nn.functional.layer_norm(x.double(), (x.shape[-1],), gamma.double(), beta.double(), eps)


def att_masked_softmax(scores, lengths, scale):
    """WeNet's attention masking: masked_fill(-inf), softmax, masked_fill(0) (rows with no key are all zero)."""
    keys = pad_mask(lengths.clamp(min=0), scores.shape[-1])  # (B, Tk)
    mask = ~keys.view(keys.shape[0], *([1] * (scores.dim() - 2)), keys.shape[1])
    s = (scores.double() * scale).masked_fill(mask, -math.inf)
    return torch.softmax(s, dim=-1).masked_fill(mask, 0.0)


def masked_fill(x, lengths, value, layout):
    """layout 0: x (B, C, T); layout 1: x (B, T, C)."""
    time = x.shape[2] if layout == 0 else x.shape[1]
    invalid = ~pad_mask(lengths, time)
    invalid = invalid[:, None, :] if layout == 0 else invalid[:, :, None]
    return x.double().masked_fill(invalid, value)


_SLICES = {4: [(2, 2), (2, 2)], 6: [(2, 2), (4, 3)], 8: [(2, 2), (2, 2), (2, 2)]}


def subsample_lengths(lengths, factor):
    """Lengths after WeNet's Conv2dSubsampling{4,6,8}, counted from the subsampled mask x_mask[:, :, s::k]."""
    time = max(int(lengths.max()), 1) + 16
    mask = pad_mask(lengths.clamp(min=0), time)
    for start, step in _SLICES[factor]:
        mask = mask[:, start::step]
    return mask.sum(dim=1).to(torch.int32).view(lengths.shape)


def rel_positional_encoding(x, pe, scale):
    return x.double() * scale, pe[:, : x.shape[1]].double()


def sinusoid_table(max_len, dim):
    """WeNet's RelPositionalEncoding table (1, max_len, dim): sin on even dims, cos on odd."""
    position = torch.arange(max_len, dtype=torch.float64)[:, None]
    div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float64) * -(math.log(10000.0) / dim))
    pe = torch.zeros(max_len, dim, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(position * div)
    pe[:, 1::2] = torch.cos(position * div)
    return pe[None]


ACTIVATIONS = {0: lambda h: h * torch.sigmoid(h), 1: torch.relu, 2: lambda h: torch.nn.functional.gelu(h)}


def fmoe(x, idx, w1, b1, w2, b2, act, score=None, lengths=None, round_hidden=None):
    """FastMoE-style top-1 expert FFN: group tokens by expert, one FFN per expert, scatter back.
    Padded tokens (t >= len[b]) give 0. ``round_hidden`` (a dtype) rounds the hidden activations the way a
    half-precision kernel stores them."""
    b, t, d = x.shape
    flat = x.reshape(-1, d).double()
    ids = idx.reshape(-1).long()
    valid = torch.ones(b * t, dtype=torch.bool, device=x.device)
    if lengths is not None:
        valid = pad_mask(lengths, t).reshape(-1)
    y = torch.zeros(b * t, d, dtype=torch.float64, device=x.device)
    for e in range(w1.shape[0]):
        rows = torch.nonzero(valid & (ids == e)).flatten()
        if rows.numel() == 0:
            continue
        h = flat[rows] @ w1[e].double().T
        if round_hidden is not None:
            h = h.to(round_hidden).double()
        h = ACTIVATIONS[act](h + b1[e].double())
        if round_hidden is not None:
            h = h.to(round_hidden).double()
        y[rows] = h @ w2[e].double().T + b2[e].double()
    if score is not None:
        y = y * score.reshape(-1, 1).double()
    return y.view(b, t, d)


def router_top1(logits, lengths):
    """Top-1 of softmax over experts: (value, int32 index); padded tokens get (0, 0)."""
    probs = torch.softmax(logits.double(), dim=-1)
    value, index = probs.max(dim=-1, keepdim=True)
    valid = pad_mask(lengths, logits.shape[1])[..., None]
    return value.masked_fill(~valid, 0.0), index.masked_fill(~valid, 0).to(torch.int32)


def rel_err(got, want) -> float:
    """‖got − want‖ / ‖want‖ in float64 (0 when both are zero)."""
    got, want = got.double(), want.double()
    denom = want.norm().item()
    diff = (got - want).norm().item()
    return diff / denom if denom else diff
