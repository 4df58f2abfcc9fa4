"""What the plugin references share: WeNet-style padding masks in PyTorch."""

from __future__ import annotations

import torch


def pad_mask(lengths: torch.Tensor, time: int) -> torch.Tensor:
    """(B, T) bool, True at valid positions t < len[b] (WeNet's ~make_pad_mask)."""
    return torch.arange(time, device=lengths.device)[None, :] < lengths.long()[:, None]
