"""ConvolutionModule of the conformer (layer-norm variant, as in the 3M configs)."""

from __future__ import annotations

import torch
from torch import nn

from .masks import valid_mask


class ConvolutionModule(nn.Module):
    """pointwise Conv1d C→2C → GLU → masked_fill 0 → depthwise Conv1d(k) → LayerNorm(C) → swish →
    pointwise Conv1d C→C → masked_fill 0. The inner LayerNorm keeps torch's default eps 1e-5.

    Padded frames are zeroed after the GLU, right before the depthwise conv, not before pointwise_conv1 as in
    3m-asr/WeNet: there pointwise_conv1's bias makes them non-zero again, so an utterance's last (k−1)/2 valid
    frames would depend on how far the batch pads it (wenet#1527; icefall and ESPnet #6660 mask here).
    """

    def __init__(self, channels: int, kernel_size: int = 15):
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"ConvolutionModule: kernel_size={kernel_size} must be odd")
        self.pointwise_conv1 = nn.Conv1d(channels, 2 * channels, 1)
        self.depthwise_conv = nn.Conv1d(
            channels, channels, kernel_size, padding=(kernel_size - 1) // 2, groups=channels
        )
        self.norm = nn.LayerNorm(channels)
        self.activation = nn.SiLU()
        self.pointwise_conv2 = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """x (B,T,C), frames t ≥ lengths[b] are zeroed before the depthwise conv and in the output → (B,T,C)."""
        pad = ~valid_mask(lengths, x.shape[1]).unsqueeze(1)
        x = nn.functional.glu(self.pointwise_conv1(x.transpose(1, 2)), dim=1)
        x = self.depthwise_conv(x.masked_fill(pad, 0.0))
        x = self.activation(self.norm(x.transpose(1, 2))).transpose(1, 2)
        x = self.pointwise_conv2(x).masked_fill(pad, 0.0)
        return x.transpose(1, 2)

    def trt_forward(self, helper, x, lengths):
        """Network version of :meth:`forward`; lengths are int32 (B,)."""
        x = helper.addGLU(helper(self.pointwise_conv1, helper.addTranspose(x, 1, 2)), dim=1)
        x = helper(self.depthwise_conv, helper.addMaskedFill(x, lengths, 0.0, layout="BCT", name="mask_depthwise"))
        x = helper(self.norm, helper.addTranspose(x, 1, 2))
        x = helper.addTranspose(helper(self.activation, x), 1, 2)
        x = helper.addMaskedFill(helper(self.pointwise_conv2, x), lengths, 0.0, layout="BCT", name="mask_out")
        return helper.addTranspose(x, 1, 2)
