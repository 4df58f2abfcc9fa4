"""Permuting dims."""

from __future__ import annotations

from collections.abc import Sequence

from ..core import ITensor, NetworkHelper, op


@op
def addPermute(helper: NetworkHelper, x: ITensor, perm: Sequence[int]) -> ITensor:
    """``x.permute(perm)``.

    Example:
        >>> heads = helper.addPermute(q, (0, 2, 1, 3))         # (B, T, H, d) -> (B, H, T, d)
    """
    helper.check_tensor(x)
    perm = [helper.dim(x, p) for p in perm]
    if sorted(perm) != list(range(len(x.shape))):
        raise ValueError(f"{helper.where()}: {perm} is not a permutation of the dims of {helper.shape(x)}")
    layer = helper.network.add_shuffle(x)
    if layer is not None:
        layer.first_transpose = perm
    return helper.finish(layer, x).get_output(0)


@op
def addTranspose(helper: NetworkHelper, x: ITensor, dim0: int, dim1: int) -> ITensor:
    """``x.transpose(dim0, dim1)``."""
    helper.check_tensor(x)
    perm = list(range(len(x.shape)))
    d0, d1 = helper.dim(x, dim0), helper.dim(x, dim1)
    perm[d0], perm[d1] = perm[d1], perm[d0]
    return addPermute(helper, x, perm)
