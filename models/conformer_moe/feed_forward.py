"""PositionwiseFeedForward: Linear(D,H) → swish → Linear(H,D)."""

from __future__ import annotations

import torch
from torch import nn


class PositionwiseFeedForward(nn.Module):
    """The dense (macaron and embed-net) feed-forward; keys ``w_1``, ``w_2`` as in 3m-asr/WeNet."""

    def __init__(self, d_model: int, hidden: int):
        super().__init__()
        self.w_1 = nn.Linear(d_model, hidden)
        self.activation = nn.SiLU()
        self.w_2 = nn.Linear(hidden, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B,T,D) → (B,T,D)."""
        return self.w_2(self.activation(self.w_1(x)))

    def trt_forward(self, helper, x):
        """Network version of :meth:`forward`."""
        return helper(self.w_2, helper(self.activation, helper(self.w_1, x)))
