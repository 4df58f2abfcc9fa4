"""Conformer blocks: the dense block of the embed net and the MoE block of the main net."""

from __future__ import annotations

import torch
from torch import nn

from .attention import RelPositionMultiHeadedAttention
from .convolution import ConvolutionModule
from .feed_forward import PositionwiseFeedForward
from .moe import MoEFeedForward

LAYER_NORM_EPS = 1e-12
"""3m-asr hard-codes eps 1e-12 for every block LayerNorm (WeNet now defaults to 1e-5)."""


class ConformerBlock(nn.Module):
    """Pre-norm macaron conformer block with a dense second feed-forward (3m-asr ConformerEncoderLayer).

    x += ½·FFN_mac(LN(x)); x += MHSA(LN(x)); x += Conv(LN(x)); x += ½·FFN(LN(x)); x = LN_final(x).
    ``concat_linear`` is unused but kept: it is in every 3m-asr state dict.
    """

    ff_scale = 0.5

    def __init__(self, d_model: int, heads: int, kernel_size: int, macaron_hidden: int, feed_forward: nn.Module):
        super().__init__()
        self.self_attn = RelPositionMultiHeadedAttention(heads, d_model)
        self.feed_forward = feed_forward
        self.feed_forward_macaron = PositionwiseFeedForward(d_model, macaron_hidden)
        self.conv_module = ConvolutionModule(d_model, kernel_size)
        self.norm_ff = nn.LayerNorm(d_model, eps=LAYER_NORM_EPS)
        self.norm_mha = nn.LayerNorm(d_model, eps=LAYER_NORM_EPS)
        self.norm_ff_macaron = nn.LayerNorm(d_model, eps=LAYER_NORM_EPS)
        self.norm_conv = nn.LayerNorm(d_model, eps=LAYER_NORM_EPS)
        self.norm_final = nn.LayerNorm(d_model, eps=LAYER_NORM_EPS)
        self.concat_linear = nn.Linear(2 * d_model, d_model)

    @classmethod
    def dense(cls, d_model: int, heads: int, kernel_size: int, hidden: int) -> ConformerBlock:
        """The embed-net block: both feed-forwards dense, width ``hidden``."""
        return cls(d_model, heads, kernel_size, hidden, PositionwiseFeedForward(d_model, hidden))

    def _second_feed_forward(self, x: torch.Tensor, embed: torch.Tensor | None, lengths: torch.Tensor) -> torch.Tensor:
        return self.feed_forward(x)

    def forward(
        self, x: torch.Tensor, lengths: torch.Tensor, pos_emb: torch.Tensor, embed: torch.Tensor | None = None
    ) -> torch.Tensor:
        """x (B,T,D), lengths (B,), pos_emb (1,T,D) [, embed (B,T,D) for MoE blocks] → (B,T,D)."""
        x = x + self.ff_scale * self.feed_forward_macaron(self.norm_ff_macaron(x))
        x = x + self.self_attn(self.norm_mha(x), lengths, pos_emb)
        x = x + self.conv_module(self.norm_conv(x), lengths)
        x = x + self.ff_scale * self._second_feed_forward(self.norm_ff(x), embed, lengths)
        return self.norm_final(x)

    def _second_feed_forward_trt(self, helper, x, embed, lengths):
        return helper(self.feed_forward, x)

    def trt_forward(self, helper, x, lengths, pos_emb, embed=None):
        """Network version of :meth:`forward`; lengths are int32 (B,)."""
        half = self.ff_scale
        macaron = helper(self.feed_forward_macaron, helper(self.norm_ff_macaron, x))
        x = helper.addAdd(x, helper.addMul(macaron, half))
        x = helper.addAdd(x, helper(self.self_attn, helper(self.norm_mha, x), lengths, pos_emb))
        x = helper.addAdd(x, helper(self.conv_module, helper(self.norm_conv, x), lengths))
        feed_forward = self._second_feed_forward_trt(helper, helper(self.norm_ff, x), embed, lengths)
        x = helper.addAdd(x, helper.addMul(feed_forward, half))
        return helper(self.norm_final, x)


class MoEConformerBlock(ConformerBlock):
    """3m-asr FmoeConformerLayer: the second feed-forward is the cat-embed MoE."""

    def __init__(
        self,
        d_model: int,
        heads: int,
        kernel_size: int,
        num_experts: int,
        hidden: int,
        embed_dim: int,
        router_bias: bool = False,
    ):
        super().__init__(
            d_model, heads, kernel_size, hidden, MoEFeedForward(d_model, embed_dim, num_experts, hidden, router_bias)
        )

    def _second_feed_forward(self, x: torch.Tensor, embed: torch.Tensor | None, lengths: torch.Tensor) -> torch.Tensor:
        if embed is None:
            raise ValueError("MoEConformerBlock: the router needs the embed-net output (B,T,D); got None")
        return self.feed_forward(x, embed, lengths)

    def _second_feed_forward_trt(self, helper, x, embed, lengths):
        if embed is None:
            raise ValueError("MoEConformerBlock: the router needs the embed-net output (B,T,D); got None")
        return helper(self.feed_forward, x, embed, lengths)
