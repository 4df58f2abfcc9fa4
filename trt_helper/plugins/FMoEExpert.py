"""FMoEExpert plugin: top-1 mixture-of-experts feed-forward with FastMoE semantics.

Inputs x (B, T, D), expert_idx int32 (B, T[, 1]), optional score (B, T[, 1]) like x, optional lengths int32
(B,), then the expert weights w_1 (E, H, D), b_1 (E, H), w_2 (E, D, H), b_2 (E, D) in x's dtype; fields
``num_experts``, ``hidden``, ``act`` (0 SiLU, 1 ReLU, 2 GELU), ``has_score``, ``has_lengths`` (int32); output
(B, T, D); padded tokens give 0.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..core import ITensor, NetworkHelper, deprecated_alias, op
from ..ops.activations import addGELU, addReLU, addSiLU
from ..ops.binary import addAdd, addEqual, addMul
from ..ops.constant import addConstant
from ..ops.masks import time_mask
from ..ops.matmul import addMatMul
from ..ops.reduce import addSum
from ..ops.squeeze import addUnsqueeze
from ..ops.where import addWhere
from .common import pad_mask
from .library import add_plugin_layer, resolve_impl

NAME = "FMoEExpert"
EXAMPLE = (
    {"num_experts": 4, "hidden": 8, "act": 0},
    [
        ((2, 3, 16), "float16"),
        ((2, 3), "int32"),
        ((4, 8, 16), "float16"),
        ((4, 8), "float16"),
        ((4, 16, 8), "float16"),
        ((4, 16), "float16"),
    ],
    [((2, 3, 16), "float16")],
)
BAD_FIELDS = [
    ({"num_experts": 4, "hidden": 8}, "missing"),
    ({"num_experts": -4, "hidden": 8, "act": 0}, "num_experts"),
    ({"num_experts": 4, "hidden": 0, "act": 0}, "hidden"),
    ({"num_experts": 4, "hidden": 8, "act": 3}, "act"),
    ({"num_experts": 4, "hidden": 8.0, "act": 0}, "INT32"),
    ({"num_experts": 4, "hidden": 8, "act": 0, "has_score": 2}, "has_score"),
]
#: ``act`` field per activation module type
ACTIVATIONS = {nn.SiLU: 0, nn.ReLU: 1, nn.GELU: 2}
REFERENCE_ACTIVATIONS = {0: lambda h: h * torch.sigmoid(h), 1: torch.relu, 2: torch.nn.functional.gelu}


def reference(x, idx, w1, b1, w2, b2, act, score=None, lengths=None, round_hidden=None) -> torch.Tensor:
    """FastMoE-style top-1 expert FFN: group tokens by expert, one FFN per expert, scatter back (float64).
    Padded tokens (t >= len[b]) give 0. ``round_hidden`` (a dtype) rounds the hidden activations the way a
    half-precision kernel stores them."""
    b, t, d = x.shape
    flat = x.reshape(-1, d).double()
    ids = idx.reshape(-1).long()
    valid = torch.ones(b * t, dtype=torch.bool, device=x.device)
    if lengths is not None:
        valid = pad_mask(lengths, t).reshape(-1)
    y = torch.zeros(b * t, d, dtype=torch.float64, device=x.device)
    for e in range(w1.shape[0]):
        rows = torch.nonzero(valid & (ids == e)).flatten()
        if rows.numel() == 0:
            continue
        h = flat[rows] @ w1[e].double().T
        if round_hidden is not None:
            h = h.to(round_hidden).double()
        h = REFERENCE_ACTIVATIONS[act](h + b1[e].double())
        if round_hidden is not None:
            h = h.to(round_hidden).double()
        y[rows] = h @ w2[e].double().T + b2[e].double()
    if score is not None:
        y = y * score.reshape(-1, 1).double()
    return y.view(b, t, d)


def _experts(helper: NetworkHelper, moe_module: nn.Module) -> tuple[Any, Any, int]:
    experts = getattr(moe_module, "experts", moe_module)
    w_1, w_2 = getattr(experts, "w_1", None), getattr(experts, "w_2", None)
    if w_1 is None or w_2 is None or w_1.weight.dim() != 3 or w_2.weight.dim() != 3:
        raise TypeError(
            f"{helper.where()}: expected experts with w_1/w_2 weights (E, out, in), got {type(experts).__name__}"
        )
    num_experts, hidden, dim = w_1.weight.shape
    if tuple(w_2.weight.shape) != (num_experts, dim, hidden):
        raise ValueError(f"{helper.where()}: w_2 must be {(num_experts, dim, hidden)}, got {tuple(w_2.weight.shape)}")
    activation = getattr(experts, "activation", nn.SiLU())
    act = ACTIVATIONS.get(type(activation))
    if act is None or (isinstance(activation, nn.GELU) and activation.approximate != "none"):
        raise TypeError(f"{helper.where()}: expert activation must be SiLU, ReLU or GELU (exact), got {activation}")
    return w_1, w_2, act


def _gate_inputs(
    helper: NetworkHelper, x: ITensor, expert_idx: ITensor, score: ITensor | None
) -> tuple[ITensor, ITensor | None]:
    helper.check_tensor(expert_idx, "expert_idx")
    if helper.torch_dtype(expert_idx) != torch.int32 or len(expert_idx.shape) not in (2, 3):
        raise TypeError(
            f"{helper.where()}: expert_idx must be int32 (B, T) or (B, T, 1), got "
            f"{helper.torch_dtype(expert_idx)} {helper.shape(expert_idx)}"
        )
    index = expert_idx if len(expert_idx.shape) == 3 else addUnsqueeze(helper, expert_idx, 2, name="expert_idx")
    if score is None:
        return index, None
    helper.check_float(score, "score")
    if score.dtype != x.dtype or len(score.shape) not in (2, 3):
        raise TypeError(
            f"{helper.where()}: score must be (B, T) or (B, T, 1) of x's dtype {helper.torch_dtype(x)}, "
            f"got {helper.torch_dtype(score)} {helper.shape(score)}"
        )
    return index, score if len(score.shape) == 3 else addUnsqueeze(helper, score, 2, name="score")


def _all_experts(helper: NetworkHelper, x: ITensor, index: ITensor, w_1: Any, w_2: Any, act: int) -> ITensor:
    """Every expert on every token, (E, B, T, ·), then each token's own expert: (B, T, D)."""
    dtype = helper.torch_dtype(x)
    rows = addUnsqueeze(helper, x, 0, name="rows")  # (1, B, T, D) against (E, 1, H, D)
    hidden = addMatMul(
        helper,
        rows,
        addConstant(helper, w_1.weight.unsqueeze(1), dtype=dtype, name="w_1"),
        transpose_b=True,
        name="w_1",
    )
    hidden = addAdd(helper, hidden, addConstant(helper, w_1.bias[:, None, None], dtype=dtype, name="b_1"))
    hidden = (addSiLU, addReLU, addGELU)[act](helper, hidden, name="activation")
    out = addMatMul(
        helper,
        hidden,
        addConstant(helper, w_2.weight.unsqueeze(1), dtype=dtype, name="w_2"),
        transpose_b=True,
        name="w_2",
    )
    out = addAdd(helper, out, addConstant(helper, w_2.bias[:, None, None], dtype=dtype, name="b_2"))
    num_experts = w_1.weight.shape[0]
    ids = addConstant(helper, torch.arange(num_experts, dtype=torch.int32).view(-1, 1, 1, 1), name="expert_ids")
    own = addEqual(helper, ids, addUnsqueeze(helper, index, 0), name="own_expert")  # (E, B, T, 1)
    return addSum(helper, addWhere(helper, own, out, 0.0, name="own_output"), 0, name="experts")


@op(module=nn.Module)
def addFMoEExpert(
    helper: NetworkHelper,
    moe_module: nn.Module,
    x: ITensor,
    expert_idx: ITensor,
    score: ITensor | None = None,
    lengths: ITensor | None = None,
    impl: str | None = None,
) -> ITensor:
    """Top-1 mixture-of-experts feed-forward, FastMoE semantics: for each token,
    ``y = (act(x·W1[e]ᵀ + b1[e])·W2[e]ᵀ + b2[e]) * score``, e = ``expert_idx``; padded tokens give 0.

    ``moe_module`` (or its ``.experts``) has ``w_1``/``w_2`` with FMoELinear weights ``(E, out, in)`` and biases
    ``(E, out)``, and an optional ``activation`` (SiLU — the default —, ReLU or GELU). x (B, T, D);
    expert_idx int32 (B, T) or (B, T, 1); score (B, T) or (B, T, 1) like x; lengths int32 (B,).
    The native path runs every expert on every token (E× the FLOPs, no data-dependent shapes) and keeps each
    token's own expert; ids outside [0, E) give 0 there, NaN and an error status in the plugin.

    Example:
        >>> y = helper.addFMoEExpert(moe.experts, x, gate_idx, score=gate_value, lengths=lengths)
    """
    w_1, w_2, act = _experts(helper, moe_module)
    num_experts, hidden, dim = w_1.weight.shape
    helper.check_rank(x, (3,))
    helper.check_float(x)
    if helper.shape(x)[2] not in (-1, dim):
        raise ValueError(f"{helper.where()}: x {helper.shape(x)} must end with D={dim}")
    index, gate = _gate_inputs(helper, x, expert_idx, score)
    if lengths is not None:
        helper.check_lengths(lengths)
    if resolve_impl(helper, impl) == "plugin":
        dtype = helper.torch_dtype(x)
        weights = [
            addConstant(helper, t, dtype=dtype, name=n)
            for t, n in ((w_1.weight, "w_1"), (w_1.bias, "b_1"), (w_2.weight, "w_2"), (w_2.bias, "b_2"))
        ]
        inputs = [x, index] + ([gate] if gate is not None else []) + ([lengths] if lengths is not None else [])
        fields = {
            "num_experts": int(num_experts),
            "hidden": int(hidden),
            "act": act,
            "has_score": int(gate is not None),
            "has_lengths": int(lengths is not None),
        }
        return add_plugin_layer(helper, NAME, fields, inputs + weights)[0]
    out = _all_experts(helper, x, index, w_1, w_2, act)
    if gate is not None:
        out = addMul(helper, out, gate, name="gated")
    if lengths is not None:
        out = addWhere(helper, time_mask(helper, lengths, x, 1), out, 0.0)
    return out


deprecated_alias("addFMoE", addFMoEExpert)
