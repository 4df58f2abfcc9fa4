"""SoftmaxTopK plugin: the top-1 router gate of a mixture of experts.

Inputs logits (B, T, E) fp32/fp16/bf16 and lengths int32 (B,); no fields; outputs value (B, T, 1) like logits
and int32 index (B, T, 1); padded tokens get value 0 and index 0.
"""

from __future__ import annotations

import torch

from ..core import ITensor, NetworkHelper, deprecated_alias, op
from ..ops.masks import time_mask
from ..ops.softmax import addSoftmax
from ..ops.topk import addTopK
from ..ops.where import addWhere
from .common import pad_mask
from .library import add_plugin_layer, resolve_impl

NAME = "SoftmaxTopK"
EXAMPLE = ({}, [((2, 3, 4), "float16"), ((2,), "int32")], [((2, 3, 1), "float16"), ((2, 3, 1), "int32")])
BAD_FIELDS = [({"k": 1}, "unknown")]


def reference(logits: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-1 of softmax over experts: (value float64, int32 index); padded tokens get (0, 0)."""
    probs = torch.softmax(logits.double(), dim=-1)
    value, index = probs.max(dim=-1, keepdim=True)
    valid = pad_mask(lengths, logits.shape[1])[..., None]
    return value.masked_fill(~valid, 0.0), index.masked_fill(~valid, 0).to(torch.int32)


@op
def addSoftmaxTopK(
    helper: NetworkHelper, logits: ITensor, lengths: ITensor, impl: str | None = None
) -> tuple[ITensor, ITensor]:
    """Top-1 router gate: ``softmax(logits).max(-1, keepdim=True)`` for logits (B, T, E) → (value (B, T, 1),
    int32 index (B, T, 1)); padded tokens get value 0 and index 0. Softmax in fp32 inside fp16 networks.

    Example:
        >>> gate_value, gate_idx = helper.addSoftmaxTopK(router_logits, lengths)
    """
    helper.check_rank(logits, (3,), "logits")
    helper.check_float(logits, "logits")
    helper.check_lengths(lengths)
    if resolve_impl(helper, impl) == "plugin":
        value, index = add_plugin_layer(helper, NAME, {}, [logits, lengths])
        return value, index
    value, index = addTopK(helper, addSoftmax(helper, logits, -1, name="probs"), 1, -1, name="top1")
    mask = time_mask(helper, lengths, logits, 1)
    return addWhere(helper, mask, value, 0.0, name="value"), addWhere(helper, mask, index, 0, name="index")


deprecated_alias("addRouterTop1", addSoftmaxTopK)
