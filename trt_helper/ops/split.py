"""Splitting a tensor into pieces along a static dim."""

from __future__ import annotations

from collections.abc import Sequence

from ..core import ITensor, NetworkHelper, op
from .slice import addSlice


@op
def addSplit(
    helper: NetworkHelper, x: ITensor, split_size_or_sections: int | Sequence[int], dim: int = 0
) -> tuple[ITensor, ...]:
    """``torch.split(x, split_size_or_sections, dim)`` → tuple. Needs a static size along ``dim``.

    Example:
        >>> q, k, v = helper.addSplit(qkv, 512, -1)
    """
    helper.check_tensor(x)
    dim = helper.dim(x, dim)
    size = helper.shape(x)[dim]
    if size == -1:
        raise ValueError(f"{helper.where()}: dim {dim} of {helper.shape(x)} is dynamic; split needs a static size")
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        sections = [min(step, size - s) for s in range(0, size, step)] if step > 0 else [-1]
    else:
        sections = list(split_size_or_sections)
    if sum(sections) != size or any(s < 0 for s in sections):
        raise ValueError(f"{helper.where()}: sections {sections} do not add up to dim {dim} of {helper.shape(x)}")
    outs, offset = [], 0
    for section in sections:
        outs.append(addSlice(helper, x, dim, offset, offset + section))
        offset += section
    return tuple(outs)


@op
def addChunk(helper: NetworkHelper, x: ITensor, chunks: int, dim: int = 0) -> tuple[ITensor, ...]:
    """``torch.chunk(x, chunks, dim)`` → tuple. Needs a static size along ``dim``."""
    helper.check_tensor(x)
    size = helper.shape(x)[helper.dim(x, dim)]
    if size == -1:
        raise ValueError(f"{helper.where()}: dim {dim} of {helper.shape(x)} is dynamic")
    return addSplit(helper, x, -(-size // chunks), dim)
