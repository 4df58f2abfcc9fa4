"""Concatenation."""

from __future__ import annotations

from collections.abc import Sequence

from ..core import ITensor, NetworkHelper, op


@op
def addConcat(helper: NetworkHelper, tensors: Sequence[ITensor], dim: int) -> ITensor:
    """``torch.cat(tensors, dim)``.

    Example:
        >>> kv = helper.addConcat([past_k, k], 2)
    """
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{helper.where()}: needs at least one tensor")
    for t in tensors:
        helper.check_tensor(t)
    first = tensors[0]
    dim = helper.dim(first, dim)
    for t in tensors[1:]:
        same_rank = len(t.shape) == len(first.shape)
        clash = same_rank and any(
            a != b and -1 not in (a, b)
            for i, (a, b) in enumerate(zip(helper.shape(t), helper.shape(first)))
            if i != dim
        )
        if not same_rank or clash or t.dtype != first.dtype:
            raise ValueError(
                f"{helper.where()}: cannot concatenate along dim {dim}: shapes "
                f"{[helper.shape(u) for u in tensors]}, dtypes {[helper.torch_dtype(u) for u in tensors]}"
            )
    layer = helper.network.add_concatenation(tensors)
    if layer is not None:
        layer.axis = dim
    return helper.finish(layer, *tensors).get_output(0)
