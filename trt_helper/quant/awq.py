"""Activation-aware weight quantization after llm-awq (``auto_scale.py`` + ``auto_clip.py``).

Scale search, per group of linears that share one input (q/k/v; gate/up; a lone fc1): with ``x̄ = mean|x|`` per
input channel over every calibration row, for ratio in 0, 0.05, … 0.95 the group's weights become
``Ŵ = dequantize(W · diag(s)) · diag(s)⁻¹`` with ``s = max(x̄ ** ratio, 1e-4) / sqrt(max s · min s)``, the module
that consumes the group (``inspect``: the attention, the MLP, the linear itself) is re-run on its cached calibration
calls, and the ratio with the lowest mean squared error of that module's output (its first output if it returns a
tuple) wins. Only the group's linears are quantized during its search; every search sees the float model and its
captured inputs (scaling keeps the float function, so they stay valid). Ratio 0 is round-to-nearest, so the search
never does worse on the calibration calls. Then ``1 / s`` is folded into the group's ``fold`` module (a LayerNorm /
RMSNorm's weight and bias, or a Linear's output rows: :func:`.smoothquant.smooth`), or, without one, the linear
multiplies its input by ``1 / s`` at run time (``QuantizedWeight.input_scale``).

Clipping search, per linear (after scaling, on the scaled weight and the matching sampled input rows): per output
channel and group, the block's max is shrunk by ratios 1.0, 0.95, … 0.5 and the ratio with the lowest mean squared
error of the group's partial dot products ``x_g · ŵ_gᵀ`` over the rows is kept; the weight is clamped there and
quantized round-to-nearest. Asymmetric blocks shrink their min and max by the same ratio (GPTQ's ``find_params``
search), which moves both the scale and the offset. llm-awq skips q/k projections (``no_clip``).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import torch
from torch import nn

from .smoothquant import smooth
from .weight import QuantizedWeight, block_grid, quantize_weight, round_to_grid

RATIOS = tuple(i / 20 for i in range(20))
CLIP_RATIOS = tuple(1 - i / 20 for i in range(11))


class ScaleGroup(NamedTuple):
    """Linears sharing one input that get one scale vector: ``inspect`` (the module whose output scores it),
    ``linears`` (their paths) and ``fold`` (None, or the LayerNorm / RMSNorm / Linear that takes ``1 / s``)."""

    inspect: str
    linears: Sequence[str]
    fold: str | None = None


def clip_search(
    w: torch.Tensor,
    x: torch.Tensor,
    bits: int = 4,
    group_size: int | None = 128,
    ratios: Sequence[float] = CLIP_RATIOS,
    where: str = "clip_search",
    asymmetric: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(``w`` clamped to the best range per output channel and group (N, K), the chosen ratio (N, K/G)) for
    calibration rows ``x`` (M, K); group None = the whole row; ``asymmetric``: min and max shrink (block offsets).
    See the module docstring.

    Example:
        >>> clipped, ratio = clip_search(linear.weight, rows, bits=4, group_size=128)
        >>> qw = quantize_weight(clipped, 4, 128)
    """
    w = w.detach().float().cpu()
    if w.dim() != 2 or x.dim() != 2 or x.shape[1] != w.shape[1]:
        raise ValueError(
            f"{where}: calibration rows {tuple(x.shape)} do not match weight {tuple(w.shape)} "
            f"(expected (M, {w.shape[-1]}))"
        )
    quantize_weight(w, bits, group_size, where, asymmetric)  # checks bits, group and values up front
    size = group_size or w.shape[1]
    blocks = w.unflatten(1, (-1, size))  # (N, G, g)
    xb = x.float().unflatten(1, (-1, size))  # (M, G, g)
    # mean over rows of (x_g · d)² = dᵀ C_g d with C_g = x_gᵀ x_g / M: no (N, G, M) partial products
    covariance = torch.einsum("mgk,mgl->gkl", xb, xb) / max(x.shape[0], 1)
    high = blocks.amax(-1, keepdim=True) if asymmetric else blocks.abs().amax(-1, keepdim=True)
    low = blocks.amin(-1, keepdim=True) if asymmetric else -high
    best_err = torch.full(blocks.shape[:2], float("inf"))
    best_ratio = torch.ones(blocks.shape[:2])
    for ratio in ratios:
        clamped = torch.maximum(torch.minimum(blocks, high * ratio), low * ratio)
        scales, offsets = block_grid(clamped, bits, asymmetric)  # quantize_weight of the clamped block
        scales, offsets = scales[..., None], None if offsets is None else offsets[..., None]
        diff = round_to_grid(clamped, scales, offsets, bits) * scales + (0 if offsets is None else offsets) - blocks
        err = (torch.einsum("ngk,gkl->ngl", diff, covariance) * diff).sum(-1)
        better = err < best_err
        best_err, best_ratio = torch.where(better, err, best_err), torch.where(better, ratio, best_ratio)
    ratio = best_ratio[..., None]
    return torch.maximum(torch.minimum(blocks, high * ratio), low * ratio).flatten(1), best_ratio


class _Calibration:
    """What one ``run(model)`` shows: per linear the mean |input| per channel and a row sample, per inspected module
    a sample of its calls (args, kwargs)."""

    def __init__(self, model: nn.Module, inspect: set[str], max_rows: int, max_calls: int, seed: int = 0):
        self.abs_sum: dict[str, torch.Tensor] = {}
        self.count: dict[str, int] = {}
        self.rows: dict[str, torch.Tensor] = {}
        self.calls: dict[str, list[tuple[tuple, dict]]] = {p: [] for p in inspect}
        self.seen: dict[str, int] = dict.fromkeys(inspect, 0)
        self.max_rows, self.max_calls = max_rows, max_calls
        self.gen = torch.Generator().manual_seed(seed)
        modules = dict(model.named_modules())
        self.handles = [
            m.register_forward_pre_hook(functools.partial(self._row, p))
            for p, m in modules.items()
            if isinstance(m, nn.Linear)
        ]
        self.handles += [
            modules[p].register_forward_pre_hook(functools.partial(self._call, p), with_kwargs=True) for p in inspect
        ]

    def _row(self, path: str, module: nn.Module, args: tuple) -> None:
        flat = args[0].detach().float().reshape(-1, args[0].shape[-1]).cpu()
        self.abs_sum[path] = self.abs_sum.get(path, 0) + flat.abs().sum(0)
        self.count[path] = self.count.get(path, 0) + flat.shape[0]
        rows = torch.cat([self.rows[path], flat]) if path in self.rows else flat
        if rows.shape[0] > self.max_rows:
            rows = rows[torch.randperm(rows.shape[0], generator=self.gen)[: self.max_rows]]
        self.rows[path] = rows

    def _call(self, path: str, module: nn.Module, args: tuple, kwargs: dict) -> None:
        """Reservoir sampling: every call is kept with the same probability."""
        detach = lambda v: v.detach() if isinstance(v, torch.Tensor) else v
        call = (tuple(detach(a) for a in args), {k: detach(v) for k, v in kwargs.items()})
        self.seen[path] += 1
        calls = self.calls[path]
        if len(calls) < self.max_calls:
            calls.append(call)
        else:
            slot = int(torch.randint(self.seen[path], (1,), generator=self.gen))
            if slot < self.max_calls:
                calls[slot] = call

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def _first(out: object) -> torch.Tensor:
    return out[0] if isinstance(out, (tuple, list)) else out  # type: ignore[return-value]


def _search_scale(
    module: nn.Module,
    linears: Mapping[str, nn.Linear],
    calls: list,
    x_mean: torch.Tensor,
    bits: int,
    group_size: int | None,
    asymmetric: bool,
) -> tuple[torch.Tensor, float, float, float]:
    """(best scale (K,), its ratio, its block error, round-to-nearest's block error)."""
    originals = {path: linear.weight.detach().clone() for path, linear in linears.items()}
    errors, scales = [], []
    with torch.no_grad():
        reference = [_first(module(*args, **kwargs)).float() for args, kwargs in calls]
        numel = max(sum(ref.numel() for ref in reference), 1)
        try:
            for ratio in RATIOS:
                s = x_mean.pow(ratio).clamp(min=1e-4)
                s = s / (s.max() * s.min()).sqrt()
                for path, w in originals.items():
                    where = f"awq_quantize at '{path}'"
                    linears[path].weight.copy_(
                        quantize_weight(w.float() * s, bits, group_size, where, asymmetric).dequantize() / s
                    )
                total = sum(
                    float((_first(module(*args, **kwargs)).float() - ref).pow(2).sum())
                    for (args, kwargs), ref in zip(calls, reference)
                )
                errors.append(total / numel)
                scales.append(s)
        finally:
            for path, w in originals.items():
                linears[path].weight.copy_(w)
    best = min(range(len(RATIOS)), key=errors.__getitem__)
    return scales[best], RATIOS[best], errors[best], errors[0]


def awq_quantize(
    model: nn.Module,
    run: Callable[[nn.Module], object],
    groups: Sequence[tuple[str, Sequence[str]] | tuple[str, Sequence[str], str | None]],
    bits: int = 4,
    group_size: int | None = 128,
    clip: bool = True,
    no_clip: Sequence[str] = (),
    max_rows: int = 512,
    max_calls: int = 16,
    asymmetric: bool = False,
) -> tuple[nn.Module, dict[str, QuantizedWeight], dict[str, dict[str, dict[str, float]]]]:
    """AWQ (see the module docstring) of every ``nn.Linear`` that ``run(model)`` reaches: (a copy of ``model`` with
    the scales folded in, {linear path: weight} for ``NetworkHelper(quantized=...)`` and ``fake_quantized``, a
    report {"scale": {a group's first linear: {"ratio", "error", "rtn_error"} (block errors)}, "clip": {linear:
    {"mean_ratio"}}}). ``groups``:
    :class:`ScaleGroup` s or ``(inspect, [linears])`` / ``(inspect, [linears], fold)`` tuples; linears in no group
    are only clipped (``groups=()``: clipping alone). ``clip=False``: scales alone; ``no_clip``: paths not clipped.
    ``max_rows`` rows per linear for the clipping search, ``max_calls`` sampled calls per inspected module;
    ``asymmetric``: blocks with offsets.

    Example:
        >>> groups = [("layers.0.self_attn", ["layers.0.self_attn.q_proj", ...], "layers.0.input_layernorm"), ...]
        >>> scaled, quantized, report = awq_quantize(model, lambda m: m(batch), groups, bits=4, group_size=128)
        >>> helper = NetworkHelper(torch.float16, weights="int4", group_size=128, quantized=quantized)
        >>> helper(scaled, x)
    """
    model = copy.deepcopy(model)
    modules = dict(model.named_modules())
    groups = [ScaleGroup(g[0], g[1], g[2] if len(g) > 2 else None) for g in groups]
    repeated = sorted({p for g in groups for p in g.linears if sum(p in h.linears for h in groups) > 1})
    if repeated:
        raise ValueError(f"awq_quantize: linears {repeated} are in more than one group (one scale per linear)")
    for g in groups:
        missing = [p for p in (g.inspect, *g.linears, *([] if g.fold is None else [g.fold])) if p not in modules]
        if missing:
            raise ValueError(f"awq_quantize: group {tuple(g)}: no module {missing} in the model")
        bad = [p for p in g.linears if not isinstance(modules[p], nn.Linear)]
        if bad or (g.fold is not None and not isinstance(modules[g.fold], (nn.LayerNorm, nn.RMSNorm, nn.Linear))):
            raise TypeError(
                f"awq_quantize: group {tuple(g)}: linears must be nn.Linear ({bad} are not) and fold a LayerNorm, "
                f"RMSNorm or Linear (got {type(modules[g.fold]).__name__ if g.fold is not None else None})"
            )
    linear_modules = {p: m for p, m in modules.items() if isinstance(m, nn.Linear)}
    calibration = _Calibration(model, {g.inspect for g in groups}, max_rows, max_calls)
    try:
        with torch.no_grad():
            run(model)
    finally:
        calibration.remove()
    if not calibration.rows:
        raise ValueError("awq_quantize: run(model) reached no nn.Linear")
    report: dict[str, dict[str, dict[str, float]]] = {"scale": {}, "clip": {}}
    input_scales: dict[str, torch.Tensor] = {}
    searched = []
    for g in groups:
        unseen = [p for p in g.linears if p not in calibration.rows]
        if not calibration.calls[g.inspect]:
            unseen.append(g.inspect)
        if unseen:
            raise ValueError(f"awq_quantize: group {tuple(g)}: run(model) never called {unseen}")
        widths = {p: linear_modules[p].in_features for p in g.linears}
        if len(set(widths.values())) != 1:
            raise ValueError(f"awq_quantize: group {tuple(g)}: linears of different input widths {widths}")
        x_mean = calibration.abs_sum[g.linears[0]] / calibration.count[g.linears[0]]
        linears = {p: linear_modules[p] for p in g.linears}
        s, ratio, err, rtn = _search_scale(
            modules[g.inspect], linears, calibration.calls[g.inspect], x_mean, bits, group_size, asymmetric
        )
        report["scale"][g.linears[0]] = {"ratio": ratio, "error": err, "rtn_error": rtn}
        searched.append((g, s))
    for g, s in searched:  # after every search: each one scored the float model
        if g.fold is not None:
            fold = modules[g.fold]
            assert isinstance(fold, (nn.LayerNorm, nn.RMSNorm, nn.Linear))  # checked above
            smooth(fold, [linear_modules[p] for p in g.linears], s)
        else:
            input_scales.update(dict.fromkeys(g.linears, s))
        for p in g.linears:
            calibration.rows[p] = calibration.rows[p] / s
    quantized = {}
    for path, rows in calibration.rows.items():
        where = f"awq_quantize at '{path}'"
        weight = modules[path].get_parameter("weight").detach().float()
        if path in input_scales:
            weight = weight * input_scales[path]
        if clip and path not in no_clip:
            weight, ratios = clip_search(weight, rows, bits, group_size, where=where, asymmetric=asymmetric)
            report["clip"][path] = {"mean_ratio": float(ratios.mean())}
        quantized[path] = quantize_weight(weight, bits, group_size, where, asymmetric)
        quantized[path].input_scale = input_scales.get(path)
    return model, quantized, report
