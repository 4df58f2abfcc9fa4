"""Rotary position embedding (RoPE) in the Hugging Face layout: ``x·cos + rotate_half(x)·sin``, from native layers."""

from __future__ import annotations

import torch

from ..core import ITensor, NetworkHelper, op
from .binary import addAdd, addMul
from .cast import addCast
from .concat import addConcat
from .constant import addConstant
from .slice import addSlice
from .squeeze import addUnsqueeze
from .unary import addCos, addNeg, addSin


@op
def addRotaryTables(
    helper: NetworkHelper, positions: ITensor, inv_freq: torch.Tensor, dtype: torch.dtype | None = None
) -> tuple[ITensor, ITensor]:
    """``(cos, sin)`` of shape ``positions.shape + (2·len(inv_freq),)`` for int ``positions`` of any shape: the
    angles ``positions · inv_freq`` computed in fp32 and repeated as ``[θ, θ]`` (Hugging Face's
    ``cat((freqs, freqs), -1)``), then cast to ``dtype`` (default: the network dtype).

    Example:
        >>> inv_freq = 1e5 ** -(torch.arange(0, 64, 2) / 64)
        >>> cos, sin = helper.addRotaryTables(helper.addArange(helper.addShapeOf(x, 2)), inv_freq)
    """
    helper.check_tensor(positions, "positions")
    if helper.torch_dtype(positions) not in (torch.int32, torch.int64):
        raise TypeError(
            f"{helper.where()}: positions must be int32/int64, got {helper.torch_dtype(positions)} "
            f"{helper.shape(positions)}"
        )
    inv_freq = torch.as_tensor(inv_freq, dtype=torch.float32)
    if inv_freq.dim() != 1:
        raise ValueError(f"{helper.where()}: inv_freq must be 1-d (rotary_dim / 2,), got {tuple(inv_freq.shape)}")
    rank = len(positions.shape)
    angles_per_position = torch.cat([inv_freq, inv_freq]).reshape((1,) * rank + (-1,))
    where = addUnsqueeze(helper, addCast(helper, positions, torch.float32, name="positions_fp32"), rank)
    angles = addMul(
        helper, where, addConstant(helper, angles_per_position, dtype=torch.float32, name="inv_freq"), name="angles"
    )
    dtype = dtype or helper.dtype
    return (
        addCast(helper, addCos(helper, angles), dtype, name="cos_cast"),
        addCast(helper, addSin(helper, angles), dtype, name="sin_cast"),
    )


@op
def addRotaryEmbedding(helper: NetworkHelper, x: ITensor, cos: ITensor, sin: ITensor) -> ITensor:
    """Hugging Face's ``apply_rotary_pos_emb`` for one tensor: ``x·cos + rotate_half(x)·sin`` with
    ``rotate_half(x) = cat(-x[..., R/2:R], x[..., :R/2])``. ``x`` is (…, T, D); ``cos``/``sin`` (…, T, R) broadcast
    against it (e.g. (1, 1, T, R) or (B, 1, T, R) for x (B, H, T, D)), R ≤ D even and static. When R < D only the
    first R features rotate (partial rotary); the rest pass through.

    Example:
        >>> q = helper.addRotaryEmbedding(q, cos, sin)                 # q (B, H, T, 64), cos/sin (1, 1, T, 64)
    """
    helper.check_float(x)
    helper.check_float(cos, "cos")
    helper.check_float(sin, "sin")
    size, rotary = helper.shape(x)[-1], helper.shape(cos)[-1]
    if (
        len(cos.shape) != len(x.shape)
        or helper.shape(sin) != helper.shape(cos)
        or rotary in (-1,)
        or rotary % 2
        or size == -1
        or rotary > size
        or x.dtype != cos.dtype
        or x.dtype != sin.dtype
    ):
        raise ValueError(
            f"{helper.where()}: expected x (…, T, D) and cos/sin (…, T, R) of x's rank and dtype, R even "
            f"and static, R <= D; got x {helper.shape(x)} {helper.torch_dtype(x)}, cos "
            f"{helper.shape(cos)} {helper.torch_dtype(cos)}, sin {helper.shape(sin)} "
            f"{helper.torch_dtype(sin)}"
        )
    rotated = addSlice(helper, x, -1, 0, rotary, name="rotated") if rotary < size else x
    first = addSlice(helper, rotated, -1, 0, rotary // 2, name="first_half")
    second = addSlice(helper, rotated, -1, rotary // 2, rotary, name="second_half")
    half_turn = addConcat(helper, [addNeg(helper, second), first], -1, name="rotate_half")
    out = addAdd(
        helper, addMul(helper, rotated, cos, name="times_cos"), addMul(helper, half_turn, sin, name="times_sin")
    )
    if rotary == size:
        return out
    return addConcat(helper, [out, addSlice(helper, x, -1, rotary, size, name="passed")], -1, name="with_passed")
