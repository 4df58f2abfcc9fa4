"""torch.nn.Embedding."""

from __future__ import annotations

import torch
from torch import nn

from ..core import ITensor, NetworkHelper, leaf, op
from .constant import addConstant
from .gather import addIndexSelect


@op(module=nn.Embedding)
def addEmbedding(helper: NetworkHelper, module: nn.Embedding, ids: ITensor) -> ITensor:
    """``module(ids)`` for ``torch.nn.Embedding``: int ids of any shape → ids.shape + (embedding_dim,).

    Example:
        >>> x = helper.addEmbedding(self.token_embedding, tokens)
    """
    helper.check_tensor(ids, "ids")
    if helper.torch_dtype(ids) not in (torch.int32, torch.int64):
        raise TypeError(f"{helper.where()}: ids must be int32/int64, got {helper.torch_dtype(ids)} {helper.shape(ids)}")
    if module.max_norm is not None:
        raise ValueError(
            f"{helper.where()}: Embedding(max_norm={module.max_norm}) renormalizes the table while "
            f"looking up; not supported"
        )
    return addIndexSelect(helper, addConstant(helper, module.weight, name="weight"), 0, ids)


leaf(nn.Embedding, addEmbedding)
