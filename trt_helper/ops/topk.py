"""Top-k and arg-max/min."""

from __future__ import annotations

from ..core import ITensor, NetworkHelper, op
from .squeeze import addSqueeze


@op
def addTopK(helper: NetworkHelper, x: ITensor, k: int, dim: int = -1, largest: bool = True) -> tuple[ITensor, ITensor]:
    """``torch.topk(x, k, dim)`` → ``(values, indices)``; indices are int32 (TensorRT's index type).

    Example:
        >>> value, index = helper.addTopK(probs, 1)
    """
    helper.check_tensor(x)
    size = helper.shape(x)[helper.dim(x, dim)]
    if k < 1 or (size != -1 and k > size):
        raise ValueError(f"{helper.where()}: k={k} must be in 1..{size} for dim {dim} of {helper.shape(x)}")
    operation = helper.trt.TopKOperation.MAX if largest else helper.trt.TopKOperation.MIN
    layer = helper.finish(helper.network.add_topk(x, operation, k, helper.axes(x, dim)), x)
    return layer.get_output(0), layer.get_output(1)


@op
def addArgMax(helper: NetworkHelper, x: ITensor, dim: int, keepdim: bool = False) -> ITensor:
    """``torch.argmax(x, dim, keepdim)`` as int32."""
    _, index = addTopK(helper, x, 1, dim)
    return index if keepdim else addSqueeze(helper, index, dim)


@op
def addArgMin(helper: NetworkHelper, x: ITensor, dim: int, keepdim: bool = False) -> ITensor:
    """``torch.argmin(x, dim, keepdim)`` as int32."""
    _, index = addTopK(helper, x, 1, dim, largest=False)
    return index if keepdim else addSqueeze(helper, index, dim)
