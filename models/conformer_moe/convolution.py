"""ConvolutionModule of the conformer (layer-norm variant, as in the 3M configs)."""

from __future__ import annotations

import torch
from torch import nn

from .masks import valid_mask
from .per_network import impl_of, layer_norm


class ConvolutionModule(nn.Module):
    """masked_fill 0 → pointwise Conv1d C→2C → GLU → depthwise Conv1d(k) → LayerNorm(C) → swish →
    pointwise Conv1d C→C → masked_fill 0. The inner LayerNorm keeps torch's default eps 1e-5.
    """

    def __init__(self, channels: int, kernel_size: int = 15):
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"ConvolutionModule: kernel_size={kernel_size} must be odd")
        self.pointwise_conv1 = nn.Conv1d(channels, 2 * channels, 1)
        self.depthwise_conv = nn.Conv1d(channels, channels, kernel_size, padding=(kernel_size - 1) // 2,
                                        groups=channels)
        self.norm = nn.LayerNorm(channels)
        self.activation = nn.SiLU()
        self.pointwise_conv2 = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """x (B,T,C), frames t ≥ lengths[b] are zeroed before and after → (B,T,C)."""
        pad = ~valid_mask(lengths, x.shape[1]).unsqueeze(1)
        x = x.transpose(1, 2).masked_fill(pad, 0.0)
        x = nn.functional.glu(self.pointwise_conv1(x), dim=1)
        x = self.depthwise_conv(x)
        x = self.activation(self.norm(x.transpose(1, 2))).transpose(1, 2)
        x = self.pointwise_conv2(x).masked_fill(pad, 0.0)
        return x.transpose(1, 2)

    def trt_forward(self, helper, x, lengths):
        """Network version of :meth:`forward`; lengths are int32 (B,)."""
        impl = impl_of(helper)
        x = helper.addMaskedFill(helper.addTranspose(x, 1, 2), lengths, 0.0, layout="BCT", impl=impl, name="mask_in")
        x = glu_channels_trt(helper, helper(self.pointwise_conv1, x))
        x = helper(self.depthwise_conv, x)
        x = layer_norm(helper, self.norm, helper.addTranspose(x, 1, 2))
        x = helper.addTranspose(helper(self.activation, x), 1, 2)
        x = helper.addMaskedFill(helper(self.pointwise_conv2, x), lengths, 0.0, layout="BCT", impl=impl,
                                 name="mask_out")
        return helper.addTranspose(x, 1, 2)


def glu_channels_trt(helper, x):
    """``glu(x, dim=1)`` for x (B, 2C, T): halves picked with two index selects (a gather each).

    ``helper.addGLU`` slices, and a slice of a tensor with run-time batch and time dims costs ~11 layers of
    shape arithmetic per half; a gather along the static channel dim needs none (2 layers per half).
    """
    channels = helper.shape(x)[1] // 2
    first = helper.addIndexSelect(x, 1, list(range(channels)), name="glu_value")
    second = helper.addIndexSelect(x, 1, list(range(channels, 2 * channels)), name="glu_gate_input")
    return helper.addMul(first, helper.addSigmoid(second, name="glu_gate"), name="glu")
