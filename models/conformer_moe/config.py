"""Configurations of the conformer-MoE (3M-ASR) encoder.

``3m-asr`` is tencent-ailab/3m-asr ``examples/wenetspeech/conf/moe_config.yaml`` (32 experts = 8 GPUs × 4).
``litleo-18l`` is the model of LitLeo/3m-asr-inference: 40-dim input, 18 MoE blocks, 32 experts,
hidden 1024; its main-net head count and vocabulary are not public (8 heads and 1434 units are assumed,
see research/conformer_moe.md §2). ``small`` keeps every structural feature at tiny sizes, for tests.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ConformerMoEConfig:
    """Sizes of one conformer-MoE encoder.

    Attributes:
        name: config name.
        input_dim: F, feature bins per frame.
        d_model: D, attention/model width of both the main and the embed net.
        heads: attention heads of the MoE blocks.
        moe_blocks: number of MoE conformer blocks (main net).
        num_experts: E, total experts per MoE block.
        expert_hidden: H, hidden width of each expert and of the macaron FFN of MoE blocks.
        embed_blocks: dense conformer blocks of the embed net.
        embed_heads: attention heads of the embed net.
        embed_ffn: hidden width of the embed net's feed-forwards.
        kernel_size: depthwise conv kernel of the convolution modules.
        vocab: V, CTC output units.
        max_len: rows of the sinusoidal positional table.
        router_bias: the router has a bias (the public configs have none).
    """

    name: str
    input_dim: int
    d_model: int
    heads: int
    moe_blocks: int
    num_experts: int
    expert_hidden: int
    embed_blocks: int
    embed_heads: int
    embed_ffn: int
    kernel_size: int = 15
    vocab: int = 32
    max_len: int = 5000
    router_bias: bool = False

    def __post_init__(self):
        if self.d_model % self.heads or self.d_model % self.embed_heads:
            raise ValueError(
                f"config {self.name}: d_model={self.d_model} must divide by heads={self.heads} "
                f"and embed_heads={self.embed_heads}"
            )
        if self.kernel_size % 2 == 0:
            raise ValueError(f"config {self.name}: kernel_size={self.kernel_size} must be odd (symmetric padding)")
        if self.input_dim < 7:
            raise ValueError(
                f"config {self.name}: input_dim={self.input_dim} < 7 leaves no frequency bins after Conv2dSubsampling4"
            )

    @property
    def subsampled_dim(self) -> int:
        """F′ = ((F−1)//2−1)//2, the frequency bins left after Conv2dSubsampling4."""
        return ((self.input_dim - 1) // 2 - 1) // 2

    def with_(self, **changes) -> ConformerMoEConfig:
        """A copy with some fields changed."""
        return replace(self, **changes)


CONFIGS: dict[str, ConformerMoEConfig] = {
    "small": ConformerMoEConfig(
        name="small",
        input_dim=80,
        d_model=64,
        heads=4,
        moe_blocks=2,
        num_experts=4,
        expert_hidden=128,
        embed_blocks=2,
        embed_heads=4,
        embed_ffn=128,
        kernel_size=15,
        vocab=32,
    ),
    "3m-asr": ConformerMoEConfig(
        name="3m-asr",
        input_dim=80,
        d_model=512,
        heads=8,
        moe_blocks=12,
        num_experts=32,
        expert_hidden=2048,
        embed_blocks=6,
        embed_heads=8,
        embed_ffn=2048,
        kernel_size=15,
        vocab=5538,
    ),
    "litleo-18l": ConformerMoEConfig(
        name="litleo-18l",
        input_dim=40,
        d_model=512,
        heads=8,
        moe_blocks=18,
        num_experts=32,
        expert_hidden=1024,
        embed_blocks=6,
        embed_heads=4,
        embed_ffn=1024,
        kernel_size=15,
        vocab=1434,
    ),
}


def get_config(name: str) -> ConformerMoEConfig:
    """The named config; ``KeyError`` listing the known names otherwise."""
    if name not in CONFIGS:
        raise KeyError(f"unknown conformer-MoE config {name!r}; known: {', '.join(CONFIGS)}")
    return CONFIGS[name]
