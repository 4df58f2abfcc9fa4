"""torch.nn.ConvTranspose1d and ConvTranspose2d (stride, padding, output_padding, groups, dilation)."""

from __future__ import annotations

import torch
from torch import nn

from ..core import ITensor, NetworkHelper, leaf, op
from .binary import addAdd
from .constant import addConstant
from .conv import check_conv_input
from .pad import addPad
from .squeeze import addSqueeze, addUnsqueeze


def _deconvolution(
    helper: NetworkHelper, module: nn.ConvTranspose1d | nn.ConvTranspose2d, x: ITensor, lead: tuple[int, ...]
) -> ITensor:
    """One deconvolution layer over the trailing spatial dims of ``x``; ``lead`` = unit dims prepended to the
    module's kernel, stride … (Conv1d runs as 2-D over (B, C, 1, T)). Output padding beyond ``padding`` (the
    positions no input reaches) is zero-filled and the bias added after."""
    dtype = helper.torch_dtype(x)
    if dtype == torch.bfloat16:
        raise TypeError(f"{helper.where()}: bf16 convolutions are not supported; cast the input to fp16 or fp32")
    if module.padding_mode != "zeros":
        raise ValueError(f"{helper.where()}: padding_mode={module.padding_mode!r}; only 'zeros' is supported")
    if any(s > 1 for s in module.stride) and any(d > 1 for d in module.dilation):
        raise ValueError(
            f"{helper.where()}: stride={module.stride} with dilation={module.dilation}: TensorRT cannot "
            f"build transposed convolutions that are both strided and dilated"
        )
    ones = (1,) * len(lead)
    kernel = lead + tuple(module.kernel_size)
    padding = (0,) * len(lead) + tuple(int(p) for p in module.padding)
    output_padding = (0,) * len(lead) + tuple(module.output_padding)
    beyond = [max(o - p, 0) for p, o in zip(padding, output_padding)]
    weight = module.weight.reshape(module.in_channels, module.out_channels // module.groups, *kernel)
    bias_inside = module.bias is not None and not any(beyond)
    bias = helper.weights(module.bias, dtype) if bias_inside else helper.trt.Weights(helper.trt_dtype(dtype))
    layer = helper.network.add_deconvolution_nd(x, module.out_channels, kernel, helper.weights(weight, dtype), bias)
    if layer is not None:
        layer.stride_nd = ones + tuple(module.stride)
        layer.dilation_nd = ones + tuple(module.dilation)
        layer.pre_padding = padding
        layer.post_padding = tuple(max(p - o, 0) for p, o in zip(padding, output_padding))
        layer.num_groups = module.groups
    out = helper.finish(layer, x).get_output(0)
    if not any(beyond):
        return out
    out = addPad(helper, out, [amount for b in reversed(beyond) for amount in (0, b)], name="output_padding")
    if module.bias is None:
        return out
    shape = (1, -1) + (1,) * len(kernel)
    return addAdd(helper, out, addConstant(helper, module.bias.reshape(shape), dtype=dtype, name="bias"))


@op(module=nn.ConvTranspose1d)
def addConvTranspose1d(helper: NetworkHelper, module: nn.ConvTranspose1d, x: ITensor) -> ITensor:
    """``module(x)`` for ``torch.nn.ConvTranspose1d`` on x (B, C, T) — run as 2-D over (B, C, 1, T).

    Example:
        >>> y = helper.addConvTranspose1d(self.upsample, x)
    """
    check_conv_input(helper, module, x, 3)
    x4 = addUnsqueeze(helper, x, 2, name="as_2d")
    return addSqueeze(helper, _deconvolution(helper, module, x4, (1,)), 2)


@op(module=nn.ConvTranspose2d)
def addConvTranspose2d(helper: NetworkHelper, module: nn.ConvTranspose2d, x: ITensor) -> ITensor:
    """``module(x)`` for ``torch.nn.ConvTranspose2d`` on x (B, C, H, W).

    Example:
        >>> y = helper.addConvTranspose2d(self.decoder_up, features)
    """
    check_conv_input(helper, module, x, 4)
    return _deconvolution(helper, module, x, ())


leaf(nn.ConvTranspose1d, addConvTranspose1d)
leaf(nn.ConvTranspose2d, addConvTranspose2d)
