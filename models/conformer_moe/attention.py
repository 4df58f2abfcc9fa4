"""RelPositionMultiHeadedAttention as used by 3m-asr/WeNet: relative positions without rel_shift."""

from __future__ import annotations

import math

import torch
from torch import nn

from .masks import masked_softmax


class RelPositionMultiHeadedAttention(nn.Module):
    """scores = ((q+u)kᵀ + (q+v)pᵀ)/√d_k, key-padding masked softmax, then ·v and linear_out.

    p = linear_pos(pos_emb) is shared across the batch; ``linear_pos`` has no bias; ``pos_bias_u``
    and ``pos_bias_v`` are (h, d_k). rel_shift is not applied (3m-asr and WeNet comment it out).
    """

    def __init__(self, heads: int, d_model: int):
        super().__init__()
        if d_model % heads:
            raise ValueError(f"RelPositionMultiHeadedAttention: d_model={d_model} not divisible by heads={heads}")
        self.h = heads
        self.d_k = d_model // heads
        self.linear_q = nn.Linear(d_model, d_model)
        self.linear_k = nn.Linear(d_model, d_model)
        self.linear_v = nn.Linear(d_model, d_model)
        self.linear_out = nn.Linear(d_model, d_model)
        self.linear_pos = nn.Linear(d_model, d_model, bias=False)
        self.pos_bias_u = nn.Parameter(torch.empty(heads, self.d_k))
        self.pos_bias_v = nn.Parameter(torch.empty(heads, self.d_k))
        nn.init.xavier_uniform_(self.pos_bias_u)
        nn.init.xavier_uniform_(self.pos_bias_v)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B,T,D) → (B,T,h,d_k)."""
        return x.view(x.shape[0], x.shape[1], self.h, self.d_k)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, pos_emb: torch.Tensor) -> torch.Tensor:
        """Self-attention of x (B,T,D) over keys t < lengths[b]; pos_emb (1,T,D) → (B,T,D)."""
        b, t, d = x.shape
        if pos_emb.shape != (1, t, d):
            raise ValueError(
                f"RelPositionMultiHeadedAttention: pos_emb must be (1, {t}, {d}) for x "
                f"{tuple(x.shape)}, got {tuple(pos_emb.shape)}"
            )
        q = self._heads(self.linear_q(x))
        k = self._heads(self.linear_k(x)).transpose(1, 2)
        v = self._heads(self.linear_v(x)).transpose(1, 2)
        p = self._heads(self.linear_pos(pos_emb)).transpose(1, 2)
        matrix_ac = torch.matmul((q + self.pos_bias_u).transpose(1, 2), k.transpose(-2, -1))
        matrix_bd = torch.matmul((q + self.pos_bias_v).transpose(1, 2), p.transpose(-2, -1))
        attn = masked_softmax((matrix_ac + matrix_bd) / math.sqrt(self.d_k), lengths)
        context = torch.matmul(attn, v).transpose(1, 2).reshape(b, t, d)
        return self.linear_out(context)

    def _heads_trt(self, helper, x, name):
        """(B,T,D) → (B,h,T,d_k), like :meth:`_heads` then ``transpose(1, 2)``."""
        return helper.addTranspose(helper.addUnflatten(x, -1, (self.h, self.d_k)), 1, 2, name=name)

    def trt_forward(self, helper, x, lengths, pos_emb):
        """Network version of :meth:`forward`; lengths are int32 (B,)."""
        q = helper.addUnflatten(helper(self.linear_q, x), -1, (self.h, self.d_k), name="q")
        k = self._heads_trt(helper, helper(self.linear_k, x), "k")
        v = self._heads_trt(helper, helper(self.linear_v, x), "v")
        p = self._heads_trt(helper, helper(self.linear_pos, pos_emb), "p")
        q_u = helper.addTranspose(
            helper.addAdd(q, helper.addConstant(self.pos_bias_u, name="pos_bias_u")), 1, 2, name="q_with_bias_u"
        )
        q_v = helper.addTranspose(
            helper.addAdd(q, helper.addConstant(self.pos_bias_v, name="pos_bias_v")), 1, 2, name="q_with_bias_v"
        )
        matrix_ac = helper.addMatMul(q_u, k, transpose_b=True, name="matrix_ac")
        matrix_bd = helper.addMatMul(q_v, p, transpose_b=True, name="matrix_bd")
        attn = helper.addAttMaskedSoftmax(
            helper.addAdd(matrix_ac, matrix_bd, name="scores"), lengths, 1.0 / math.sqrt(self.d_k)
        )
        context = helper.addTranspose(helper.addMatMul(attn, v, name="context"), 1, 2)
        return helper(self.linear_out, helper.addFlatten(context, 2))
