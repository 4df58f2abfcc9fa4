"""AttMaskedSoftmax plugin: attention softmax with a key-length mask (WeNet's masked softmax).

Inputs scores (B, …, Tk) fp32/fp16/bf16 and lengths int32 (B,); field ``scale`` (float32, finite); output like
scores: ``softmax(scale * scores)`` over keys ``k < lengths[b]``, exactly 0 elsewhere, all-zero rows (never NaN)
where no key is valid.
"""

from __future__ import annotations

import math

import torch

from ..core import ITensor, NetworkHelper, deprecated_alias, op
from ..ops.binary import addMul
from ..ops.cast import in_fp32
from ..ops.masks import time_mask
from ..ops.softmax import addSoftmax
from ..ops.where import addWhere
from .common import pad_mask
from .library import add_plugin_layer, resolve_impl

NAME = "AttMaskedSoftmax"
EXAMPLE = ({"scale": 0.125}, [((2, 4, 5, 6), "float16"), ((2,), "int32")], [((2, 4, 5, 6), "float16")])
BAD_FIELDS = [({}, "missing"), ({"scale": 2}, "FLOAT32"), ({"scale": float("inf")}, "finite")]


def reference(scores: torch.Tensor, lengths: torch.Tensor, scale: float) -> torch.Tensor:
    """WeNet's attention masking: masked_fill(-inf), softmax, masked_fill(0) (rows with no key are all zero)."""
    keys = pad_mask(lengths.clamp(min=0), scores.shape[-1])  # (B, Tk)
    mask = ~keys.view(keys.shape[0], *([1] * (scores.dim() - 2)), keys.shape[1])
    s = (scores.double() * scale).masked_fill(mask, -math.inf)
    return torch.softmax(s, dim=-1).masked_fill(mask, 0.0)


@op
def addAttMaskedSoftmax(
    helper: NetworkHelper, scores: ITensor, lengths: ITensor, scale: float, impl: str | None = None
) -> ITensor:
    """Attention softmax with a key-length mask: ``softmax(scale * scores)`` over keys ``k < lengths[b]`` of
    scores (B, ..., Tk), exactly 0 for the other keys; a row with no valid key is all zeros (never NaN).
    Lengths beyond Tk count as Tk. Softmax runs in fp32 inside fp16/bf16 networks (``fp32_islands``).

    Example:
        >>> probs = helper.addAttMaskedSoftmax(scores, lengths, 1 / math.sqrt(d_k))
    """
    helper.check_float(scores, "scores")
    if len(scores.shape) < 2:
        raise ValueError(f"{helper.where()}: scores must be (B, ..., Tk), got {helper.shape(scores)}")
    helper.check_lengths(lengths)
    scale = float(scale)
    if not math.isfinite(scale):
        raise ValueError(f"{helper.where()}: scale must be finite, got {scale}")
    if resolve_impl(helper, impl) == "plugin":
        return add_plugin_layer(helper, NAME, {"scale": scale}, [scores, lengths])[0]
    mask = time_mask(helper, lengths, scores, len(scores.shape) - 1)

    def masked_softmax(t: ITensor) -> ITensor:
        logits = addWhere(helper, mask, addMul(helper, t, scale, name="scale"), -math.inf, name="fill")
        return addWhere(helper, mask, addSoftmax(helper, logits, -1), 0.0)

    return in_fp32(helper, scores, masked_softmax)


deprecated_alias("addMaskedSoftmax", addAttMaskedSoftmax)
