"""torch.nn.EmbeddingBag: sums, means or maxima of embedding rows per bag (ids (B, N), or flat ids with offsets)."""

from __future__ import annotations

import torch
from torch import nn

from ..core import ITensor, NetworkHelper, leaf, op
from .arange import addArange
from .binary import addAnd, addDiv, addEqual, addGreater, addLess, addMaximum, addMul
from .cast import addCast
from .concat import addConcat
from .constant import addConstant
from .gather import addIndexSelect
from .reduce import addMax, addMean, addSum
from .shape_of import addShapeOf
from .slice import addSlice
from .squeeze import addUnsqueeze
from .unary import addNot
from .where import addWhere


def _bag_masks(helper: NetworkHelper, module: nn.EmbeddingBag, ids: ITensor, offsets: ITensor) -> ITensor:
    """bool (B, N): position n of the flat ``ids`` belongs to bag b (``offsets[b] <= n < offsets[b + 1]``)."""
    helper.check_rank(offsets, (1,), "offsets")
    dtype = helper.torch_dtype(offsets)
    if dtype not in (torch.int32, torch.int64):
        raise TypeError(f"{helper.where()}: offsets must be int32/int64, got {dtype} {helper.shape(offsets)}")
    length = addShapeOf(helper, ids, 0)
    if module.include_last_offset:
        starts, ends = addSlice(helper, offsets, 0, 0, -1), addSlice(helper, offsets, 0, 1)
    else:
        last = addUnsqueeze(helper, addCast(helper, length, dtype), 0, name="length")
        starts, ends = offsets, addConcat(helper, [addSlice(helper, offsets, 0, 1), last], 0, name="ends")
    positions = addUnsqueeze(helper, addArange(helper, length, dtype), 0, name="positions")
    before_start = addLess(helper, positions, addUnsqueeze(helper, starts, 1))
    return addAnd(helper, addNot(helper, before_start), addLess(helper, positions, addUnsqueeze(helper, ends, 1)))


@op(module=nn.EmbeddingBag)
def addEmbeddingBag(
    helper: NetworkHelper,
    module: nn.EmbeddingBag,
    ids: ITensor,
    offsets: ITensor | None = None,
    per_sample_weights: ITensor | None = None,
) -> ITensor:
    """``module(ids, offsets, per_sample_weights)`` for ``torch.nn.EmbeddingBag`` (modes sum, mean, max;
    ``padding_idx`` entries skipped; empty bags give zeros) → (B, embedding_dim).

    Example:
        >>> pooled = helper.addEmbeddingBag(self.bag, token_ids)                 # ids (B, N): one bag per row
    """
    helper.check_rank(ids, (1, 2), "ids")
    if helper.torch_dtype(ids) not in (torch.int32, torch.int64):
        raise TypeError(f"{helper.where()}: ids must be int32/int64, got {helper.torch_dtype(ids)}")
    if module.max_norm is not None:
        raise ValueError(
            f"{helper.where()}: EmbeddingBag(max_norm={module.max_norm}) renormalizes the table while "
            f"looking up; not supported"
        )
    if (len(ids.shape) == 1) != (offsets is not None):
        raise ValueError(
            f"{helper.where()}: 1-D ids need offsets, 2-D ids (B, N) take none; got ids "
            f"{helper.shape(ids)} and offsets {'given' if offsets is not None else 'None'}"
        )
    if per_sample_weights is not None and module.mode != "sum":
        raise ValueError(f"{helper.where()}: per_sample_weights need mode='sum', got mode={module.mode!r}")
    rows = addIndexSelect(helper, addConstant(helper, module.weight, name="weight"), 0, ids)  # ids.shape + (D,)
    members = None if offsets is None else _bag_masks(helper, module, ids, offsets)  # (B, N)
    if module.padding_idx is not None:
        kept = addNot(helper, addEqual(helper, ids, module.padding_idx), name="kept")
        kept = addUnsqueeze(helper, kept, 0) if offsets is not None else kept
        members = kept if members is None else addAnd(helper, members, kept)
    if offsets is not None:
        rows = addUnsqueeze(helper, rows, 0, name="bag_rows")  # (1, N, D)
    if per_sample_weights is not None:
        helper.check_float(per_sample_weights, "per_sample_weights")
        weights = addCast(helper, per_sample_weights, helper.torch_dtype(rows))
        weights = addUnsqueeze(helper, weights, [0, 2] if offsets is not None else [2])
        rows = addMul(helper, rows, weights, name="weighted")
    if members is None:
        if module.mode == "max":
            return addMax(helper, rows, 1)
        return addSum(helper, rows, 1) if module.mode == "sum" else addMean(helper, rows, 1)
    inside = addUnsqueeze(helper, members, 2, name="inside")  # (B, N, 1)
    if module.mode == "max":
        best = addMax(helper, addWhere(helper, inside, rows, float("-inf")), 1)
        return addWhere(
            helper, addGreater(helper, addSum(helper, addCast(helper, inside, torch.int32), 1), 0), best, 0.0
        )
    total = addSum(helper, addWhere(helper, inside, rows, 0.0), 1)
    if module.mode == "sum":
        return total
    count = addSum(helper, addCast(helper, members, helper.torch_dtype(rows)), 1, keepdim=True)
    return addDiv(helper, total, addMaximum(helper, count, 1.0))


leaf(nn.EmbeddingBag, addEmbeddingBag)
