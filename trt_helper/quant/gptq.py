"""GPTQ (Frantar et al. 2022, after IST-DASLab/gptq ``gptq.py``): int8 / int4 weights rounded one input column at a
time, each column's rounding error fed forward to the columns not yet rounded, weighted by the linear's inputs.

Per linear, weight W (N, K), calibration inputs x (M rows of K): ``H = 2 xᵀx / M``; a column whose input is always
zero gets ``H_ii = 1`` and a zero weight; ``H += damp · mean(diag H) · I``; ``U`` = the upper Cholesky factor of
``H⁻¹``. Columns are taken in order, in blocks of ``block_size`` (errors inside a block are applied at once, the
rest lazily at the block's end — the same arithmetic): column k is rounded to its grid, ``e = (w_k − q_k) / U_kk``,
and ``W[:, k:] −= e · U[k, k:]``. Grids are :func:`.weight.quantize_weight`'s (symmetric or asymmetric, per output
channel or per block of ``group_size`` along K); a block's scale and offset are fixed when its first column comes up,
from the block's weights as they are then (already moved by the earlier columns' errors), as the reference
implementation does. With ``H = I`` nothing moves and the result is round-to-nearest's.

:func:`gptq_quantize` collects H from ``run(model)`` for every linear at once, or stage by stage (``stages``):
each stage's inputs then come from the model whose earlier stages already hold their quantized weights
("sequential" GPTQ: a layer corrects the error of the layers before it).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence

import torch
from torch import nn

from .calibrate import _hooks
from .weight import QuantizedWeight, block_grid, quantize_weight, round_to_grid

DAMP = 0.01
BLOCK_SIZE = 128


def gptq_weight(
    w: torch.Tensor,
    hessian: torch.Tensor,
    bits: int = 4,
    group_size: int | None = 128,
    asymmetric: bool = False,
    damp: float = DAMP,
    block_size: int = BLOCK_SIZE,
    where: str = "gptq_weight",
) -> QuantizedWeight:
    """GPTQ of one (N, K) weight for the input statistics ``hessian`` (K, K) (``2 xᵀx / M``): see the module
    docstring. ``block_size`` must be a multiple of ``group_size``.

    Example:
        >>> x = rows @ mixing                                           # (M, K) calibration inputs
        >>> qw = gptq_weight(linear.weight, 2 * x.T @ x / len(x), bits=4, group_size=128)
    """
    quantize_weight(w, bits, group_size, where, asymmetric)  # checks the spec and the values up front
    n, k = w.shape
    if tuple(hessian.shape) != (k, k) or not torch.isfinite(hessian).all():
        raise ValueError(f"{where}: hessian {tuple(hessian.shape)} must be finite ({k}, {k}) for weight {(n, k)}")
    if group_size is not None and block_size % group_size:
        raise ValueError(f"{where}: block_size={block_size} is not a multiple of group_size={group_size}")
    w = w.detach().float().cpu().clone()
    h = hessian.detach().double().cpu().clone()
    dead = h.diagonal() == 0
    h[dead, dead] = 1
    w[:, dead] = 0
    h += damp * h.diagonal().mean() * torch.eye(k, dtype=h.dtype)
    try:
        u = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(h)), upper=True).float()
    except RuntimeError as error:  # torch.linalg.LinAlgError
        raise ValueError(f"{where}: hessian {(k, k)} is not positive definite after damping {damp}") from error
    size = group_size or k
    values = torch.empty(n, k, dtype=torch.int8)
    scales = torch.empty(n, k // size)
    offsets = torch.empty(n, k // size) if asymmetric else None
    scale = offset = None
    for start in range(0, k, block_size):
        end = min(start + block_size, k)
        block, errors = w[:, start:end].clone(), torch.empty(n, end - start)
        for i in range(end - start):
            column = start + i
            if column % size == 0:  # a new group: its grid from the weights as they are now
                group = w if group_size is None else block[:, i : i + size]  # a group lies in one block
                scale, offset = block_grid(group, bits, asymmetric)
                scales[:, column // size] = scale
                if offsets is not None and offset is not None:
                    offsets[:, column // size] = offset
            assert scale is not None
            q = round_to_grid(block[:, i], scale, offset, bits)
            values[:, column] = q.to(torch.int8)
            dequantized = q * scale + (0 if offset is None else offset)
            errors[:, i] = (block[:, i] - dequantized) / u[column, column]
            block[:, i:] -= errors[:, i : i + 1] * u[column, column:end]
        w[:, end:] -= errors @ u[start:end, end:]
    return QuantizedWeight(values, scales[:, 0] if group_size is None else scales, bits, group_size, offsets=offsets)


def hessians(model: nn.Module, run: Callable[[nn.Module], object], paths: Sequence[str]) -> dict[str, torch.Tensor]:
    """{linear path: ``2 xᵀx / M`` (K, K), float64} over every input row ``run(model)`` feeds the linears ``paths``;
    raises naming the ones it never reaches."""
    wanted = set(paths)
    sums: dict[str, torch.Tensor] = {}
    counts: dict[str, int] = {}

    def record(path: str, x: torch.Tensor) -> None:
        if path in wanted:
            flat = x.detach().reshape(-1, x.shape[-1]).double().cpu()
            sums[path] = sums.get(path, 0) + flat.T @ flat
            counts[path] = counts.get(path, 0) + flat.shape[0]

    with _hooks(model, (nn.Linear,), record, False), torch.no_grad():
        run(model)
    missing = [p for p in paths if p not in sums]
    if missing:
        raise ValueError(f"hessians: run(model) never called the linears {missing}")
    return {p: 2 * sums[p] / counts[p] for p in paths}


def gptq_quantize(
    model: nn.Module,
    run: Callable[[nn.Module], object],
    bits: int = 4,
    group_size: int | None | Mapping[str, int | None] = 128,
    asymmetric: bool = False,
    stages: Sequence[Sequence[str]] | None = None,
    damp: float = DAMP,
    block_size: int = BLOCK_SIZE,
) -> dict[str, QuantizedWeight]:
    """{linear path: GPTQ weight} for ``NetworkHelper(quantized=...)`` and ``fake_quantized``: every ``nn.Linear``
    of ``model`` at once (``stages=None``), or the linears of each stage in turn, with inputs from the model whose
    earlier stages hold their dequantized weights. ``group_size``: one for all, or {path: group size}.
    ``model`` is not changed.

    Example:
        >>> layers = [[f"layers.{i}.{p}" for p in ("q", "k", "v", "out", "fc1", "fc2")] for i in range(12)]
        >>> quantized = gptq_quantize(model, lambda m: m(batch), bits=4, group_size=128, stages=layers)
    """
    linears = {p: m for p, m in model.named_modules() if isinstance(m, nn.Linear)}
    stages = [list(linears)] if stages is None else [list(stage) for stage in stages]
    unknown = [p for stage in stages for p in stage if p not in linears]
    if unknown:
        raise ValueError(f"gptq_quantize: {unknown} are not nn.Linear modules of the model")
    working = copy.deepcopy(model) if len(stages) > 1 else model
    working_linears = {p: m for p, m in working.named_modules() if isinstance(m, nn.Linear)}
    quantized = {}
    for stage in stages:
        stage_hessians = hessians(working, run, stage)
        for path in stage:
            size = group_size.get(path) if isinstance(group_size, Mapping) else group_size
            weight = linears[path].weight
            quantized[path] = gptq_weight(
                weight, stage_hessians[path], bits, size, asymmetric, damp, block_size, f"gptq_quantize at '{path}'"
            )
            if working is not model:
                with torch.no_grad():
                    working_linears[path].weight.copy_(quantized[path].dequantize())
    return quantized
