"""The embed net (dense conformer) and the conformer-MoE encoder (3m-asr conformer_moe_catEmbed.Net)."""

from __future__ import annotations

import torch
from torch import nn

from .blocks import LAYER_NORM_EPS, ConformerBlock, MoEConformerBlock
from .config import ConformerMoEConfig, get_config
from .masks import MIN_FRAMES, check_lengths
from .positional import RelPositionalEncoding
from .subsampling import Conv2dSubsampling4


def check_features(owner: str, feat: torch.Tensor, feat_len: torch.Tensor, input_dim: int) -> None:
    """Raise ``ValueError`` naming ``owner`` unless feat is (B,T,F) float and feat_len (B,) in [7, T]."""
    if feat.dim() != 3 or feat.shape[2] != input_dim or not feat.dtype.is_floating_point:
        raise ValueError(f"{owner}: feat must be float (B, T, {input_dim}), got {tuple(feat.shape)} {feat.dtype}")
    if feat.shape[1] < MIN_FRAMES:
        raise ValueError(f"{owner}: feat has {feat.shape[1]} frames; Conv2dSubsampling4 needs at least {MIN_FRAMES}")
    check_lengths(owner + " feat_len", feat_len, feat.shape[0], feat.shape[1], min_len=MIN_FRAMES)


class EmbedNet(nn.Module):
    """The dense conformer whose after_norm output routes the MoE (3m-asr ``model/conformer.py::Net``).

    ``out_linear`` (its CTC head) is only needed to load state dicts; the encoder does not run it.
    """

    def __init__(self, config: ConformerMoEConfig):
        super().__init__()
        d = config.d_model
        self.subsampling = Conv2dSubsampling4(config.input_dim, d)
        self.pos_enc = RelPositionalEncoding(d, config.max_len)
        self.blocks = nn.ModuleList(
            ConformerBlock.dense(d, config.embed_heads, config.kernel_size, config.embed_ffn)
            for _ in range(config.embed_blocks)
        )
        self.after_norm = nn.LayerNorm(d, eps=LAYER_NORM_EPS)
        self.out_linear = nn.Linear(d, config.vocab)

    def forward(self, feat: torch.Tensor, feat_len: torch.Tensor) -> torch.Tensor:
        """feat (B,T,F), feat_len (B,) → router embedding (B,T′,D)."""
        x, lengths = self.subsampling(feat, feat_len)
        x, pos_emb = self.pos_enc(x)
        for block in self.blocks:
            x = block(x, lengths, pos_emb)
        return self.after_norm(x)

    def trt_forward(self, helper, feat, feat_len):
        """Network version of :meth:`forward`; feat_len is int32 (B,)."""
        x, lengths = helper(self.subsampling, feat, feat_len)
        x, pos_emb = helper(self.pos_enc, x)
        for block in self.blocks:
            x = helper(block, x, lengths, pos_emb)
        return helper(self.after_norm, x)


class ConformerMoEEncoder(nn.Module):
    """3M-ASR encoder: embed net + subsampling + relpos + N MoE conformer blocks + after_norm + CTC linear.

    forward(feat (B,T,F) float, feat_len (B,) int) → (logits (B,T′,V), out_len (B,) int32).
    State-dict keys are those of 3m-asr's ``encoder`` (see :mod:`.weights`).
    """

    def __init__(self, config: ConformerMoEConfig):
        super().__init__()
        self.config = config
        d = config.d_model
        self.subsampling = Conv2dSubsampling4(config.input_dim, d)
        self.pos_enc = RelPositionalEncoding(d, config.max_len)
        self.embed = EmbedNet(config)
        self.blocks = nn.ModuleList(
            MoEConformerBlock(
                d, config.heads, config.kernel_size, config.num_experts, config.expert_hidden, d, config.router_bias
            )
            for _ in range(config.moe_blocks)
        )
        self.after_norm = nn.LayerNorm(d, eps=LAYER_NORM_EPS)
        self.out_linear = nn.Linear(d, config.vocab)

    def forward(self, feat: torch.Tensor, feat_len: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """feat (B,T,F) float, feat_len (B,) int → logits (B,T′,V), out_len (B,) int32."""
        if not (torch.onnx.is_in_onnx_export() or torch.jit.is_tracing()):
            check_features("ConformerMoEEncoder", feat, feat_len, self.config.input_dim)
        embed = self.embed(feat, feat_len).detach()
        x, lengths = self.subsampling(feat, feat_len)
        x, pos_emb = self.pos_enc(x)
        for block in self.blocks:
            x = block(x, lengths, pos_emb, embed)
        return self.out_linear(self.after_norm(x)), lengths.to(torch.int32)

    def trt_forward(self, helper, feat, feat_len):
        """Network version of :meth:`forward`: feat (B,T,F) in the network dtype, feat_len int32 (B,) →
        (logits (B,T′,V), out_len int32 (B,)). Utterances shorter than 7 frames get out_len 0."""
        embed = helper(self.embed, feat, feat_len)
        x, lengths = helper(self.subsampling, feat, feat_len)
        x, pos_emb = helper(self.pos_enc, x)
        for block in self.blocks:
            x = helper(block, x, lengths, pos_emb, embed)
        return helper(self.out_linear, helper(self.after_norm, x)), lengths


def build_model(
    config: ConformerMoEConfig | str, seed: int = 0, dtype: torch.dtype = torch.float32
) -> ConformerMoEEncoder:
    """A randomly initialised encoder in eval mode; the same seed gives the same weights."""
    if isinstance(config, str):
        config = get_config(config)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ConformerMoEEncoder(config)
    return model.to(dtype).eval()
