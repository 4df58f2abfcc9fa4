"""torch.nn.Conv1d and Conv2d (every padding and padding_mode, groups, dilation)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..core import ITensor, NetworkHelper, leaf, op
from .linear import check_features
from .pad import addPad
from .squeeze import addSqueeze, addUnsqueeze

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _padding(helper: NetworkHelper, module: nn.Conv1d | nn.Conv2d, x: ITensor) -> tuple[ITensor, list[int]]:
    """``x`` padded ahead of the convolution where the layer's symmetric zero padding cannot express torch's
    (``padding_mode`` reflect/replicate/circular, or ``padding="same"`` with an even receptive field), and the
    layer's padding per spatial dim."""
    if module.padding_mode not in PADDING_MODES:
        raise ValueError(f"{helper.where()}: padding_mode={module.padding_mode!r}; expected one of {PADDING_MODES}")
    if module.padding == "valid":
        return x, [0] * len(module.kernel_size)
    if module.padding == "same":
        totals = [d * (k - 1) for d, k in zip(module.dilation, module.kernel_size)]
        pairs = [(t // 2, t - t // 2) for t in totals]
    elif isinstance(module.padding, str):
        raise ValueError(f"{helper.where()}: padding={module.padding!r}; expected 'same', 'valid' or ints")
    else:
        pairs = [(p, p) for p in module.padding]
    mode = "constant" if module.padding_mode == "zeros" else module.padding_mode
    if mode == "constant" and all(a == b for a, b in pairs):
        return x, [a for a, _ in pairs]
    flat = [amount for pair in reversed(pairs) for amount in pair]
    return addPad(helper, x, flat, mode=mode, name="pad"), [0] * len(pairs)


def _convolution(
    helper: NetworkHelper,
    module: nn.Conv1d | nn.Conv2d,
    x: ITensor,
    kernel: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
) -> ITensor:
    dtype = helper.torch_dtype(x)
    if dtype == torch.bfloat16:
        raise TypeError(f"{helper.where()}: bf16 convolutions are not supported; cast the input to fp16 or fp32")
    weight = module.weight.reshape(module.out_channels, module.in_channels // module.groups, *kernel)
    bias = (
        helper.weights(module.bias, dtype) if module.bias is not None else helper.trt.Weights(helper.trt_dtype(dtype))
    )
    kernel_weights = helper.weights(weight, dtype)
    layer = helper.network.add_convolution_nd(x, module.out_channels, tuple(kernel), kernel_weights, bias)
    if layer is not None:
        layer.stride_nd, layer.padding_nd, layer.dilation_nd = tuple(stride), tuple(padding), tuple(dilation)
        layer.num_groups = module.groups
    layer = helper.finish(layer, x)
    helper.name_weights(kernel_weights, f"{layer.name}.kernel")
    helper.name_weights(bias, f"{layer.name}.bias")
    return layer.get_output(0)


def check_conv_input(helper: NetworkHelper, module: nn.modules.conv._ConvNd, x: ITensor, rank: int) -> None:
    """x of rank ``rank``, floating point, with ``module.in_channels`` channels in dim 1 (convolutions and their
    transposes)."""
    helper.check_rank(x, (rank,))
    helper.check_float(x)
    check_features(helper, x, 1, module.in_channels, "channels")


@op(module=nn.Conv1d)
def addConv1d(helper: NetworkHelper, module: nn.Conv1d, x: ITensor) -> ITensor:
    """``module(x)`` for ``torch.nn.Conv1d`` on x (B, C, T) — run as a 2-D convolution over (B, C, 1, T).

    Example:
        >>> x = helper.addConv1d(self.depthwise_conv, x)
    """
    check_conv_input(helper, module, x, 3)
    x, padding = _padding(helper, module, x)
    x4 = addUnsqueeze(helper, x, 2, name="as_2d")
    y4 = _convolution(
        helper, module, x4, (1, module.kernel_size[0]), (1, module.stride[0]), (0, padding[0]), (1, module.dilation[0])
    )
    return addSqueeze(helper, y4, 2)


@op(module=nn.Conv2d)
def addConv2d(helper: NetworkHelper, module: nn.Conv2d, x: ITensor) -> ITensor:
    """``module(x)`` for ``torch.nn.Conv2d`` on x (B, C, H, W).

    Example:
        >>> x = helper.addConv2d(self.conv, image)
    """
    check_conv_input(helper, module, x, 4)
    x, padding = _padding(helper, module, x)
    return _convolution(helper, module, x, module.kernel_size, module.stride, padding, module.dilation)


leaf(nn.Conv1d, addConv1d)
leaf(nn.Conv2d, addConv2d)
