"""Length arithmetic and masks shared by the PyTorch forwards.

Masks travel as int32 lengths (B,) in both forwards, as in the original engine; the PyTorch side
expands them to boolean masks here.
"""

from __future__ import annotations

import torch

MIN_FRAMES = 7
"""The fewest input frames Conv2dSubsampling4 turns into one output frame: ((7−1)//2−1)//2 = 1."""


def conv_length(lengths: torch.Tensor) -> torch.Tensor:
    """Frames left by one Conv2d(kernel 3, stride 2, no padding): (L−1)//2, floored at 0."""
    return torch.clamp(torch.div(lengths - 1, 2, rounding_mode="floor"), min=0)


def subsampled_lengths(lengths: torch.Tensor) -> torch.Tensor:
    """Per-utterance lengths after Conv2dSubsampling4: ((L−1)//2−1)//2, floored at 0.

    This is WeNet's ``x_mask[:, :, 2::2][:, :, 2::2]`` rule (wenet PR #1602) and what LitLeo's
    MaskConv2dSample plugin computes; the 3M trainer's older ``[:-2:2]`` form keeps one extra frame
    per stage for padded utterances.
    """
    return conv_length(conv_length(lengths))


def valid_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """(B, T) bool, True where t < lengths[b]."""
    steps = torch.arange(max_len, device=lengths.device)
    return steps.unsqueeze(0) < lengths.to(steps.dtype).unsqueeze(1)


def check_lengths(owner: str, lengths: torch.Tensor, batch: int, max_len: int, min_len: int = 1) -> None:
    """Raise ``ValueError`` naming ``owner`` unless lengths is an integer (B,) tensor in [min_len, max_len]."""
    if lengths.dim() != 1 or lengths.shape[0] != batch:
        raise ValueError(f"{owner}: lengths must have shape ({batch},), got {tuple(lengths.shape)}")
    if lengths.dtype.is_floating_point or lengths.dtype == torch.bool:
        raise ValueError(f"{owner}: lengths must be an integer tensor, got {lengths.dtype}")
    if batch and (int(lengths.min()) < min_len or int(lengths.max()) > max_len):
        raise ValueError(
            f"{owner}: lengths {lengths.tolist()} must lie in [{min_len}, {max_len}] for an input of {max_len} frames"
        )


def masked_softmax(scores: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dim of (B, H, T1, T2) scores using only keys t < lengths[b].

    Keys at or past the length get probability 0; a row with no valid key is all zeros
    (WeNet: masked_fill −inf, softmax, masked_fill 0). Computed in fp32.
    """
    key_mask = valid_mask(lengths, scores.shape[-1])[:, None, None, :]
    probs = torch.softmax(scores.float().masked_fill(~key_mask, float("-inf")), dim=-1)
    return probs.masked_fill(~key_mask, 0.0).to(scores.dtype)
