"""The 3M mixture-of-experts feed-forward: cat-embed router, full softmax, top-1, FastMoE experts."""

from __future__ import annotations

import math

import torch
from torch import nn

from .masks import valid_mask


class ExpertLinear(nn.Module):
    """E linears in FastMoE's FMoELinear layout: weight (E, out, in), bias (E, out)."""

    def __init__(self, num_experts: int, in_features: int, out_features: int):
        super().__init__()
        bound = 1.0 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(num_experts, out_features, in_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(num_experts, out_features).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor, expert: int) -> torch.Tensor:
        """Rows x (N, in) through expert ``expert``: x·W[e]ᵀ + b[e]."""
        return torch.addmm(self.bias[expert], x, self.weight[expert].t())


class Experts(nn.Module):
    """Expert e: w_2[e](swish(w_1[e](x))), keys ``w_1``/``w_2`` as in 3m-asr's ``Expert``."""

    def __init__(self, num_experts: int, d_model: int, hidden: int):
        super().__init__()
        self.w_1 = ExpertLinear(num_experts, d_model, hidden)
        self.activation = nn.SiLU()
        self.w_2 = ExpertLinear(num_experts, hidden, d_model)

    def forward(self, x: torch.Tensor, expert: int) -> torch.Tensor:
        """Rows x (N, D) all routed to ``expert`` → (N, D)."""
        return self.w_2(self.activation(self.w_1(x, expert)), expert)


class MoEFeedForward(nn.Module):
    """3m-asr's FmoeCatEmbedFeedForward at inference.

    logits = cat(embed, x) @ router_weights (2D, E) [+ router_bias]; p = softmax(logits);
    idx = argmax p; y = max p · expert_idx(x). Padded tokens are routed too (no mask inside the MoE).
    """

    def __init__(self, d_model: int, embed_dim: int, num_experts: int, hidden: int, router_bias: bool = False):
        super().__init__()
        self.num_experts = num_experts
        self.experts = Experts(num_experts, d_model, hidden)
        self.router_weights = nn.Parameter(torch.empty(embed_dim + d_model, num_experts))
        nn.init.xavier_uniform_(self.router_weights, gain=0.5)
        self.router_bias = nn.Parameter(torch.zeros(num_experts)) if router_bias else None

    def route(self, x: torch.Tensor, embed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(gate value, expert index), each (B,T): the top-1 of the full softmax over experts."""
        logits = torch.cat([embed, x], dim=-1) @ self.router_weights
        if self.router_bias is not None:
            logits = logits + self.router_bias
        gate_value, gate_idx = torch.softmax(logits, dim=-1).max(dim=-1)
        return gate_value, gate_idx

    def all_experts(self, rows: torch.Tensor, expert_idx: torch.Tensor) -> torch.Tensor:
        """Every expert on every row (N, D), then each row's own expert output: (N, D).

        E times the FLOPs of the dispatch, but free of data-dependent shapes, so it traces and exports
        to ONNX (FastMoE's count-then-dispatch cannot). The same arithmetic as :meth:`forward`.
        """
        w_1, w_2 = self.experts.w_1, self.experts.w_2
        hidden = self.experts.activation(torch.matmul(rows, w_1.weight.transpose(1, 2)) + w_1.bias.unsqueeze(1))
        out = torch.matmul(hidden, w_2.weight.transpose(1, 2)) + w_2.bias.unsqueeze(1)  # (E, N, D)
        pick = expert_idx.view(1, -1, 1).expand(1, rows.shape[0], rows.shape[1])
        return out.gather(0, pick).squeeze(0)

    def forward(self, x: torch.Tensor, embed: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """x (B,T,D), embed (B,T,De) → (B,T,D); with lengths (B,), padded tokens (t ≥ lengths[b]) give 0, as in
        the network. Runs :meth:`all_experts` when traced for export."""
        if (
            x.dim() != 3
            or embed.shape[:2] != x.shape[:2]
            or embed.shape[2] + x.shape[2] != self.router_weights.shape[0]
        ):
            raise ValueError(
                f"MoEFeedForward: x (B,T,D) and embed (B,T,De) with D+De="
                f"{self.router_weights.shape[0]} expected, got {tuple(x.shape)} and {tuple(embed.shape)}"
            )
        gate_value, gate_idx = self.route(x, embed)
        rows, flat_idx = x.reshape(-1, x.shape[-1]), gate_idx.reshape(-1)
        exporting = torch.onnx.is_in_onnx_export() or torch.jit.is_tracing()
        out = self.all_experts(rows, flat_idx) if exporting else self.dispatch(rows, flat_idx)
        out = out.view_as(x) * gate_value.unsqueeze(-1)
        return out if lengths is None else out.masked_fill(~valid_mask(lengths, x.shape[1]).unsqueeze(-1), 0.0)

    def dispatch(self, rows: torch.Tensor, expert_idx: torch.Tensor) -> torch.Tensor:
        """FastMoE's dispatch: group the rows (N, D) by expert, run each expert once on its rows, scatter back."""
        order = torch.argsort(expert_idx, stable=True)
        counts = torch.bincount(expert_idx, minlength=self.num_experts).tolist()
        grouped = rows.index_select(0, order).split(counts)
        outputs = [self.experts(group, e) for e, group in enumerate(grouped) if counts[e]]
        return torch.empty_like(rows).index_copy_(0, order, torch.cat(outputs))

    def trt_forward(self, helper, x, embed, lengths):
        """Network version of :meth:`forward`; lengths int32 (B,)."""
        logits = helper.addMatMul(
            helper.addConcat([embed, x], -1, name="router_inputs"),
            helper.addConstant(self.router_weights, name="router_weights"),
            name="router_logits",
        )
        if self.router_bias is not None:
            logits = helper.addAdd(logits, helper.addConstant(self.router_bias, name="router_bias"))
        gate_value, gate_idx = helper.addSoftmaxTopK(logits, lengths, name="gate")
        return helper.addFMoEExpert(self, x, gate_idx, score=gate_value, lengths=lengths, name="moe")
