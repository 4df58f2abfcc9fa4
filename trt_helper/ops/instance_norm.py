"""torch.nn.InstanceNorm1d/2d: a normalization layer over the spatial dims, statistics in fp32 islands."""

from __future__ import annotations

import torch
from torch import nn

from ..core import ITensor, NetworkHelper, leaf, op
from .batch_norm import fold_running_stats
from .cast import in_fp32
from .constant import addConstant
from .linear import check_features


def normalize_channels(
    helper: NetworkHelper, x: ITensor, eps: float, weight: torch.Tensor | None = None, bias: torch.Tensor | None = None
) -> ITensor:
    """``(x - mean) / sqrt(var + eps) * weight + bias`` with statistics per (batch, channel) over dims 2… of ``x``
    (B, C, …); one INormalizationLayer (instance-norm form), in fp32 inside fp16/bf16 networks."""
    channels = helper.shape(x)[1]
    if channels == -1:
        raise ValueError(f"{helper.where()}: the channel dim of {helper.shape(x)} must be static")
    rank = len(x.shape)
    shape = (1, channels) + (1,) * (rank - 2)
    weight = torch.ones(channels) if weight is None else weight.detach()
    bias = torch.zeros(channels) if bias is None else bias.detach()

    def norm(t: ITensor) -> ITensor:
        dtype = helper.torch_dtype(t)
        scale = addConstant(helper, weight.reshape(shape), dtype=dtype, name="weight")
        shift = addConstant(helper, bias.reshape(shape), dtype=dtype, name="bias")
        add = getattr(helper.network, "add_normalization_v2", None) or helper.network.add_normalization
        layer = add(t, scale, shift, sum(1 << d for d in range(2, rank)))
        if layer is not None:
            layer.epsilon = float(eps)
        return helper.finish(layer, t).get_output(0)

    return in_fp32(helper, x, norm)


def _instance_norm(
    helper: NetworkHelper, module: nn.InstanceNorm1d | nn.InstanceNorm2d, x: ITensor, spatial: int
) -> ITensor:
    helper.check_rank(x, (spatial + 2,))
    helper.check_float(x)
    check_features(helper, x, 1, module.num_features, "channels")
    if module.track_running_stats and not module.training:
        return fold_running_stats(helper, module, x)
    if module.affine:
        return normalize_channels(helper, x, module.eps, module.weight, module.bias)
    return normalize_channels(helper, x, module.eps)


@op(module=nn.InstanceNorm1d)
def addInstanceNorm1d(helper: NetworkHelper, module: nn.InstanceNorm1d, x: ITensor) -> ITensor:
    """``module(x)`` for ``torch.nn.InstanceNorm1d`` on x (B, C, T) in eval mode (running statistics when
    ``track_running_stats``).

    Example:
        >>> x = helper.addInstanceNorm1d(self.norm, x)
    """
    return _instance_norm(helper, module, x, 1)


@op(module=nn.InstanceNorm2d)
def addInstanceNorm2d(helper: NetworkHelper, module: nn.InstanceNorm2d, x: ITensor) -> ITensor:
    """``module(x)`` for ``torch.nn.InstanceNorm2d`` on x (B, C, H, W) in eval mode (running statistics when
    ``track_running_stats``).

    Example:
        >>> x = helper.addInstanceNorm2d(self.norm, x)
    """
    return _instance_norm(helper, module, x, 2)


leaf(nn.InstanceNorm1d, addInstanceNorm1d)
leaf(nn.InstanceNorm2d, addInstanceNorm2d)
