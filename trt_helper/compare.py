"""Per-module error tables: find the first module where a port goes wrong."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import torch


@dataclass
class Row:
    """One module's comparison."""

    name: str
    shape: tuple
    max_abs: float
    max_rel: float
    ok: bool

    def __str__(self):
        mark = "ok " if self.ok else "BAD"
        return f"{mark} {self.name:<50} {str(self.shape):<22} max_abs {self.max_abs:.3e}  max_rel {self.max_rel:.3e}"


class Report(list):
    """A list of :class:`Row`; ``str()`` gives the table, ``first_bad`` the first module over tolerance."""

    @property
    def first_bad(self) -> Row | None:
        return next((row for row in self if not row.ok), None)

    def __str__(self):
        return "\n".join(str(row) for row in self)


def capture(model: torch.nn.Module, *inputs, **kwargs) -> dict[str, torch.Tensor]:
    """Run ``model`` and return every submodule's output by its path (``encoder.layers.0.feed_forward``).

    Tuple outputs are stored as ``path:0``, ``path:1`` …"""
    outputs: dict[str, torch.Tensor] = {}
    handles = []
    for path, module in model.named_modules():
        def hook(_module, _args, output, path=path or "<root>"):
            for key, value in _flatten(path, output):
                outputs[key] = value.detach()
        handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(*inputs, **kwargs)
    finally:
        for handle in handles:
            handle.remove()
    return outputs


def _flatten(path, value):
    if isinstance(value, torch.Tensor):
        return [(path, value)]
    if isinstance(value, (tuple, list)):
        return [(f"{path}:{i}", v) for i, v in enumerate(value) if isinstance(v, torch.Tensor)]
    return []


def compare(model_outputs: Mapping[str, torch.Tensor], reference_tensors: Mapping[str, torch.Tensor],
            rtol: float = 1e-4, valid=None) -> Report:
    """Compare tensors present in both mappings (model order), e.g. :func:`capture` output against
    ``helper.reference(..., debug=True)``.

    ``max_rel`` is ``max|a-b| / max|a|`` (robust to elementwise zeros); a row is ok when it is ``<= rtol``.
    ``valid`` optionally maps a name to a bool mask selecting the elements to compare (e.g. unpadded frames).
    """
    report = Report()
    for name, expected in model_outputs.items():
        if name not in reference_tensors:
            continue
        got = reference_tensors[name]
        if tuple(got.shape) != tuple(expected.shape):
            report.append(Row(name, tuple(got.shape), float("inf"), float("inf"), False))
            continue
        a, b = expected.detach().double().cpu(), got.detach().double().cpu()
        if valid is not None and name in valid:
            mask = valid[name].cpu().expand_as(a)
            a, b = a[mask], b[mask]
        diff = (a - b).abs().max().item() if a.numel() else 0.0
        scale = a.abs().max().item() if a.numel() else 0.0
        rel = diff / scale if scale else diff
        report.append(Row(name, tuple(expected.shape), diff, rel, rel <= rtol))
    return report
