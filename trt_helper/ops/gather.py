"""Gathers: index_select along a dim, elementwise gather, embedding-table lookup."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..core import ITensor, NetworkHelper, op
from .constant import addConstant


@op
def addIndexSelect(helper: NetworkHelper, x: ITensor, dim: int, index: ITensor | Sequence[int]) -> ITensor:
    """``torch.index_select(x, dim, index)``; ``index`` is an int tensor (any rank: its dims replace ``dim``,
    like ``x[..., index, ...]``) or a python list.

    Example:
        >>> rows = helper.addIndexSelect(table, 0, token_ids)
    """
    helper.check_tensor(x)
    ids = (
        index if helper.is_tensor(index) else addConstant(helper, torch.tensor(index, dtype=torch.int64), name="index")
    )
    if helper.torch_dtype(ids) not in (torch.int32, torch.int64):
        raise TypeError(f"{helper.where()}: index must be int32/int64, got {helper.torch_dtype(ids)}")
    return helper.finish(helper.network.add_gather(x, ids, helper.dim(x, dim)), x, ids).get_output(0)


@op
def addGather(helper: NetworkHelper, x: ITensor, dim: int, index: ITensor) -> ITensor:
    """``torch.gather(x, dim, index)`` (elementwise gather; ``index`` has x's rank)."""
    helper.check_tensor(x)
    helper.check_tensor(index, "index")
    if len(index.shape) != len(x.shape):
        raise ValueError(f"{helper.where()}: index {helper.shape(index)} must have the rank of x {helper.shape(x)}")
    layer = helper.network.add_gather_v2(x, index, helper.trt.GatherMode.ELEMENT)
    if layer is not None:
        layer.axis = helper.dim(x, dim)
    return helper.finish(layer, x, index).get_output(0)


@op
def addEmbeddingLookup(helper: NetworkHelper, table: ITensor, ids: ITensor) -> ITensor:
    """Rows of ``table`` (V, D) picked by int ``ids`` of any shape → ids.shape + (D,)."""
    return addIndexSelect(helper, table, 0, ids)
