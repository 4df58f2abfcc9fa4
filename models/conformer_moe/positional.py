"""RelPositionalEncoding: scale by √D and hand out the first T rows of a sinusoidal table."""

from __future__ import annotations

import math

import torch
from torch import nn


def sinusoidal_table(max_len: int, d_model: int) -> torch.Tensor:
    """(1, max_len, D): sin(pos·ω_i) on even dims, cos on odd, ω_i = 10000^(−2i/D)."""
    position = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * -(math.log(10000.0) / d_model))
    pe = torch.zeros(max_len, d_model)
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    return pe.unsqueeze(0)


class RelPositionalEncoding(nn.Module):
    """x → (x·√D, pe[:, :T]). The table is a non-persistent buffer (WeNet does not save it)."""

    def __init__(self, d_model: int, max_len: int = 5000):
        super().__init__()
        self.d_model = d_model
        self.max_len = max_len
        self.xscale = math.sqrt(d_model)
        self.register_buffer("pe", sinusoidal_table(max_len, d_model), persistent=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B,T,D) → x·√D (B,T,D), pos_emb (1,T,D)."""
        if x.dim() != 3 or x.shape[2] != self.d_model or x.shape[1] > self.max_len:
            raise ValueError(
                f"RelPositionalEncoding: input must be (B, T<={self.max_len}, {self.d_model}), got {tuple(x.shape)}"
            )
        return x * self.xscale, self.pe[:, : x.shape[1]].to(x.dtype)

    def trt_forward(self, helper, x):
        """Network version of :meth:`forward`."""
        return helper.addRelPositionalEncoding(self, x)
