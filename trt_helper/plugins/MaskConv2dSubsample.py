"""MaskConv2dSubsample plugin: sequence lengths after WeNet's Conv2dSubsampling{4,6,8}.

Input lengths int32 (B,); field ``factor`` (int32: 4, 6 or 8); output int32 (B,).
"""

from __future__ import annotations

import torch

from ..core import ITensor, NetworkHelper, deprecated_alias, op
from ..ops.binary import addFloorDiv, addMaximum, addSub
from .common import pad_mask
from .library import add_plugin_layer, resolve_impl

NAME = "MaskConv2dSubsample"
EXAMPLE = ({"factor": 4}, [((3,), "int32")], [((3,), "int32")])
BAD_FIELDS = [({}, "missing"), ({"factor": 5}, "4, 6 or 8"), ({"factor": -4}, "4, 6 or 8"), ({"factor": "4"}, "INT32")]
#: the (kernel, stride) of each time-axis convolution of Conv2dSubsampling{4,6,8}
SUBSAMPLING = {4: ((3, 2), (3, 2)), 6: ((3, 2), (5, 3)), 8: ((3, 2), (3, 2), (3, 2))}
#: the same subsampling as WeNet's mask slicing x_mask[:, :, start::step]
_MASK_SLICES = {4: [(2, 2), (2, 2)], 6: [(2, 2), (4, 3)], 8: [(2, 2), (2, 2), (2, 2)]}


def reference(lengths: torch.Tensor, factor: int) -> torch.Tensor:
    """Lengths counted from WeNet's subsampled mask ``x_mask[:, :, s::k]`` (int32)."""
    time = max(int(lengths.max()), 1) + 16
    mask = pad_mask(lengths.clamp(min=0), time)
    for start, step in _MASK_SLICES[factor]:
        mask = mask[:, start::step]
    return mask.sum(dim=1).to(torch.int32).view(lengths.shape)


@op
def addMaskConv2dSubsample(
    helper: NetworkHelper, lengths: ITensor, factor: int = 4, impl: str | None = None
) -> ITensor:
    """Lengths after WeNet's Conv2dSubsampling{4,6,8}: ``((L - 1) // 2 - 1) // 2`` for ×4 (each convolution
    maps L to ``max(0, (L - kernel) // stride + 1)``). int32 (B,) → int32 (B,).

    Example:
        >>> sub_len = helper.addMaskConv2dSubsample(feat_len, 4)
    """
    helper.check_lengths(lengths)
    if factor not in SUBSAMPLING:
        raise ValueError(f"{helper.where()}: factor must be 4, 6 or 8, got {factor!r}")
    if resolve_impl(helper, impl) == "plugin":
        return add_plugin_layer(helper, NAME, {"factor": int(factor)}, [lengths])[0]
    out = lengths
    for kernel, stride in SUBSAMPLING[factor]:
        # (L - k) // s + 1 == (L - k + s) // s, clamped at 0 first so that the division sees no negatives
        shifted = addMaximum(helper, addSub(helper, out, kernel - stride, name="shift"), 0, name="clamp")
        out = addFloorDiv(helper, shifted, stride)
    return out


deprecated_alias("addSubsampleLengths", addMaskConv2dSubsample)
