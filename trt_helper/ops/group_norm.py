"""torch.nn.GroupNorm: channels regrouped to (B, G, C/G, …), normalized per group, then the per-channel affine."""

from __future__ import annotations

from torch import nn

from ..core import ITensor, NetworkHelper, leaf, op
from .binary import addAdd, addMul
from .constant import addConstant
from .instance_norm import normalize_channels
from .linear import check_features
from .reshape import addFlatten, addReshape, addUnflatten
from .shape_of import dims_of


@op(module=nn.GroupNorm)
def addGroupNorm(helper: NetworkHelper, module: nn.GroupNorm, x: ITensor) -> ITensor:
    """``module(x)`` for ``torch.nn.GroupNorm`` on x (B, C, …) with a static channel count; statistics in fp32
    inside fp16/bf16 networks.

    Example:
        >>> x = helper.addGroupNorm(self.norm1, x)
    """
    helper.check_rank(x, range(2, 9))
    helper.check_float(x)
    check_features(helper, x, 1, module.num_channels, "channels")
    groups, channels = module.num_groups, module.num_channels
    grouped = addUnflatten(helper, x, 1, (groups, channels // groups), name="groups")
    normed = normalize_channels(helper, addFlatten(helper, grouped, 2, name="group_values"), module.eps)
    out = addReshape(helper, normed, dims_of(helper, x))
    if not module.affine:
        return out
    shape = (1, -1) + (1,) * (len(x.shape) - 2)
    dtype = helper.torch_dtype(x)
    out = addMul(helper, out, addConstant(helper, module.weight.reshape(shape), dtype=dtype, name="weight"))
    return addAdd(helper, out, addConstant(helper, module.bias.reshape(shape), dtype=dtype, name="bias"))


leaf(nn.GroupNorm, addGroupNorm)
