"""Calibration: run the PyTorch model (or its network, through the reference executor) on given inputs and collect
what each module's input looks like.

``run(model)`` is any callable that drives the model on calibration data (e.g. transcribing a few clips); forward
pre-hooks on the chosen modules see every input. Absmax is what static activation scales need (SmoothQuant, KV
cache); :func:`collect_inputs` keeps a row sample for the activation-aware weight search (:mod:`.awq`).
:func:`calibrate_network` and :class:`NetworkCalibrator` collect the same absmax from networks evaluated by the
reference executor (each ``helper(module, x)`` call's input and output, under the module's path), so scales can come
from exactly what the network computes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from ..core import NetworkHelper


def _update_absmax(amax: dict[str, torch.Tensor], path: str, x: torch.Tensor, per_channel: bool) -> None:
    """Fold ``x``'s absmax (per last-dim channel, or per tensor) into ``amax[path]``."""
    value = x.detach().float().abs().reshape(-1, x.shape[-1]).amax(0)
    value = value if per_channel else value.amax()
    amax[path] = value if path not in amax else torch.maximum(amax[path], value)


@contextmanager
def _hooks(model: nn.Module, types: tuple[type, ...], record: Callable[[str, torch.Tensor], None], output: bool):
    modules = [(path, module) for path, module in model.named_modules() if isinstance(module, types)]
    if output:
        handles = [
            module.register_forward_hook(lambda m, args, out, path=path: record(path, out)) for path, module in modules
        ]
    else:
        handles = [
            module.register_forward_pre_hook(lambda m, args, path=path: record(path, args[0]))
            for path, module in modules
        ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def calibrate(
    model: nn.Module,
    run: Callable[[nn.Module], object],
    types: tuple[type, ...] = (nn.Linear,),
    per_channel: bool = True,
    output: bool = False,
) -> dict[str, torch.Tensor]:
    """{module path: absmax of its input (of its output with ``output=True``, e.g. for a KV cache)} over everything
    ``run(model)`` feeds it: per channel (last dim, shape (K,)) or per tensor (a 0-d tensor). Raises when ``run``
    reaches none of the modules.

    Example:
        >>> amax = calibrate(model, lambda m: m(x))                       # {"encoder.blocks.0.mlp.0": (K,)}
    """
    amax: dict[str, torch.Tensor] = {}

    def record(path: str, x: torch.Tensor) -> None:
        _update_absmax(amax, path, x, per_channel)

    with _hooks(model, types, record, output), torch.no_grad():
        run(model)
    if not amax:
        raise ValueError(f"calibrate: run(model) reached no {[t.__name__ for t in types]} module")
    return amax


def collect_inputs(
    model: nn.Module,
    run: Callable[[nn.Module], object],
    types: tuple[type, ...] = (nn.Linear,),
    max_rows: int = 512,
    seed: int = 0,
) -> dict[str, torch.Tensor]:
    """{module path: (≤ max_rows, K) rows of its input}, a uniform sample over every call ``run(model)`` makes."""
    rows: dict[str, list[torch.Tensor]] = {}
    gen = torch.Generator().manual_seed(seed)

    def record(path: str, x: torch.Tensor) -> None:
        flat = x.detach().float().reshape(-1, x.shape[-1]).cpu()
        if flat.shape[0] > max_rows:
            flat = flat[torch.randperm(flat.shape[0], generator=gen)[:max_rows]]
        rows.setdefault(path, []).append(flat)

    with _hooks(model, types, record, False), torch.no_grad():
        run(model)
    if not rows:
        raise ValueError(f"collect_inputs: run(model) reached no {[t.__name__ for t in types]} module")
    out = {}
    for path, chunks in rows.items():
        flat = torch.cat(chunks)
        out[path] = flat[torch.randperm(flat.shape[0], generator=gen)[:max_rows]] if flat.shape[0] > max_rows else flat
    return out


class NetworkCalibrator:
    """Absmax of module inputs (outputs with ``output=True``) over every network evaluation made through
    :meth:`evaluate` — the reference-executor counterpart of :func:`calibrate`, keyed by the same module paths
    (those of the model given to ``helper.setModel``). Use it where a decoding loop evaluates several networks.

    Example:
        >>> calibrator = NetworkCalibrator(output=True, per_channel=False)
        >>> out = calibrator.evaluate(helper, {"x": x})       # the network's outputs, as helper.reference gives
        >>> calibrator.amax["decoder.blocks.0.attn.key"]
    """

    def __init__(
        self,
        types: tuple[type, ...] = (nn.Linear,),
        per_channel: bool = True,
        output: bool = False,
        device: str | torch.device = "cpu",
    ):
        self.types, self.per_channel, self.output, self.device = types, per_channel, output, device
        self.amax: dict[str, torch.Tensor] = {}

    def evaluate(self, helper: NetworkHelper, inputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The network's outputs for ``inputs`` (reference executor), recording the chosen modules' absmax."""
        values = helper.reference(dict(inputs), device=self.device, debug=True)
        for path, (module_type, x) in helper.module_inputs.items():
            if issubclass(module_type, self.types):
                if self.output and path not in values:
                    raise ValueError(
                        f"NetworkCalibrator: module '{path}' of network '{helper.name}' has no single output tensor"
                    )
                tensor = values[path] if self.output else values[x.name]
                _update_absmax(self.amax, path, tensor, self.per_channel)
        network = helper.network
        return {name: values[name] for name in (network.get_output(i).name for i in range(network.num_outputs))}


def calibrate_network(
    helper: NetworkHelper,
    feeds: Iterable[Mapping[str, torch.Tensor]],
    types: tuple[type, ...] = (nn.Linear,),
    per_channel: bool = True,
    output: bool = False,
    device: str | torch.device = "cpu",
) -> dict[str, torch.Tensor]:
    """:func:`calibrate` through the reference executor: {module path: absmax of the input (output) of that
    ``helper(module, x)`` call} over the network evaluated on each input dict of ``feeds``. Raises when the network
    has no such module call.

    Example:
        >>> amax = calibrate_network(helper, [{"x": batch} for batch in batches])   # {"blocks.0.mlp.0": (K,)}
    """
    calibrator = NetworkCalibrator(types, per_channel, output, device)
    for inputs in feeds:
        calibrator.evaluate(helper, inputs)
    if not calibrator.amax:
        raise ValueError(
            f"calibrate_network: network '{helper.name}' has no helper(module, x) call of "
            f"{[t.__name__ for t in types]} (or feeds was empty)"
        )
    return calibrator.amax
