"""Per-module error tables: find the first module where a port goes wrong."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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


def _selected(got: torch.Tensor, want: torch.Tensor, valid: torch.Tensor | None):
    a, b = want.detach().double().cpu(), got.detach().double().cpu()
    if valid is not None:
        mask = valid.cpu().expand_as(a)
        a, b = a[mask], b[mask]
    return a, b


def abs_error(got: torch.Tensor, want: torch.Tensor, valid: torch.Tensor | None = None) -> float:
    """``max|got - want|`` in float64 over the ``valid`` elements (0 for empty tensors)."""
    a, b = _selected(got, want, valid)
    return (a - b).abs().max().item() if a.numel() else 0.0


def rel_error(got: torch.Tensor, want: torch.Tensor, norm: str = "max", valid: torch.Tensor | None = None) -> float:
    """The relative error every check in this project uses, in float64.

    ``norm="max"``: ``max|got - want| / max|want|`` (robust to elementwise zeros; what :func:`compare` reports);
    ``norm="l2"``: ``‖got - want‖ / ‖want‖``. ``valid`` selects the elements to compare (e.g. unpadded frames).
    Both are the absolute error when ``want`` is all zeros, 0 for empty tensors.
    """
    a, b = _selected(got, want, valid)
    if not a.numel():
        return 0.0
    if norm == "max":
        diff, scale = (a - b).abs().max().item(), a.abs().max().item()
    elif norm == "l2":
        diff, scale = (a - b).norm().item(), a.norm().item()
    else:
        raise ValueError(f"rel_error: norm must be 'max' or 'l2', got {norm!r}")
    return diff / scale if scale else diff


def compare(
    model_outputs: Mapping[str, torch.Tensor],
    reference_tensors: Mapping[str, torch.Tensor],
    rtol: float = 1e-4,
    valid=None,
) -> Report:
    """Compare tensors present in both mappings (model order), e.g. :func:`capture` output against
    ``helper.reference(..., debug=True)``.

    ``max_rel`` is :func:`rel_error` (``max|a-b| / max|a|``); a row is ok when it is ``<= rtol``.
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
        mask = valid.get(name) if valid is not None else None
        rel = rel_error(got, expected, valid=mask)
        report.append(Row(name, tuple(expected.shape), abs_error(got, expected, mask), rel, rel <= rtol))
    return report
