"""Matrix multiply with broadcast batch dims."""

from __future__ import annotations

from ..core import ITensor, NetworkHelper, op
from .binary import broadcast_ranks


@op
def addMatMul(
    helper: NetworkHelper, a: ITensor, b: ITensor, transpose_a: bool = False, transpose_b: bool = False
) -> ITensor:
    """``a @ b`` (rank >= 2, batch dims broadcast), optionally transposing the last two dims of either.

    Example:
        >>> scores = helper.addMatMul(q, k, transpose_b=True)      # (B, H, T, d) x (B, H, T, d) -> (B, H, T, T)
    """
    helper.check_rank(a, range(2, 9), "a")
    helper.check_rank(b, range(2, 9), "b")
    if a.dtype != b.dtype:
        raise TypeError(
            f"{helper.where()}: a {helper.torch_dtype(a)} {helper.shape(a)} and b "
            f"{helper.torch_dtype(b)} {helper.shape(b)} differ in dtype"
        )
    k_a = helper.shape(a)[-2 if transpose_a else -1]
    k_b = helper.shape(b)[-1 if transpose_b else -2]
    if -1 not in (k_a, k_b) and k_a != k_b:
        raise ValueError(
            f"{helper.where()}: inner dims differ: a {helper.shape(a)} (transpose={transpose_a}) and "
            f"b {helper.shape(b)} (transpose={transpose_b})"
        )
    a, b = broadcast_ranks(helper, a, b)
    mop = helper.trt.MatrixOperation
    layer = helper.network.add_matrix_multiply(
        a, mop.TRANSPOSE if transpose_a else mop.NONE, b, mop.TRANSPOSE if transpose_b else mop.NONE
    )
    return helper.finish(layer, a, b).get_output(0)
