"""Conv2dSubsampling4: two stride-2 3×3 convolutions and a Linear, 4× fewer frames."""

from __future__ import annotations

import torch
from torch import nn

from .masks import MIN_FRAMES, subsampled_lengths


class Conv2dSubsampling4(nn.Module):
    """Conv2d(1,D,3,s2) → ReLU → Conv2d(D,D,3,s2) → ReLU → (B,T′,D·F′) → Linear(D·F′, D).

    State-dict keys follow 3m-asr/WeNet: ``conv.0``, ``conv.2``, ``out.0``.
    """

    def __init__(self, input_dim: int, d_model: int):
        super().__init__()
        self.input_dim = input_dim
        self.conv = nn.Sequential(
            nn.Conv2d(1, d_model, 3, 2),
            nn.ReLU(),
            nn.Conv2d(d_model, d_model, 3, 2),
            nn.ReLU(),
        )
        self.out = nn.Sequential(nn.Linear(d_model * (((input_dim - 1) // 2 - 1) // 2), d_model))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B,T,F), lengths (B,) → (B,T′,D), lengths′ (B,) with T′ = ((T−1)//2−1)//2."""
        if x.dim() != 3 or x.shape[2] != self.input_dim or x.shape[1] < MIN_FRAMES:
            raise ValueError(
                f"Conv2dSubsampling4: input must be (B, T>={MIN_FRAMES}, {self.input_dim}), got {tuple(x.shape)}"
            )
        x = self.conv(x.unsqueeze(1))
        b, c, t, f = x.shape
        x = self.out(x.transpose(1, 2).reshape(b, t, c * f))
        return x, subsampled_lengths(lengths)

    def trt_forward(self, helper, x, lengths):
        """Network version of :meth:`forward`: x (B,T,F), int32 lengths (B,) → (B,T′,D), lengths′."""
        x = helper(self.conv, helper.addUnsqueeze(x, 1))
        x = helper.addFlatten(helper.addTranspose(x, 1, 2), 2)
        return helper(self.out, x), helper.addMaskConv2dSubsample(lengths, 4)
