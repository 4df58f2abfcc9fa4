"""Weight-stripped plans: the weights-name map a build records, and refitting an engine from a module or checkpoint.

A ``build(path, strip_weights=True)`` names every weight the network holds: a view of a model parameter or buffer by
its state-dict key (``blocks.0.feed_forward.w_1.weight``), any other constant (folded norms, tables) by its layer
name. The sidecar's ``"refit"`` entry records, per name, the key, the parameter's shape, the shape and dtype the
network holds it in; the computed constants go to ``<plan>.constants.pt``. At load, :func:`weights_for` maps a
module, a state dict or a checkpoint file onto those names and :func:`apply` refits the engine with them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from . import sidecar


def constants_path(plan) -> Path:
    """Where the computed constants of a weight-stripped ``plan`` go: ``<plan>.constants.pt``."""
    return Path(f"{plan}.constants.pt")


def _module_of(key: str) -> str:
    module, _, param = key.rpartition(".")
    return f"module '{module or '<root>'}', parameter '{param}'"


def describe(refit_map: Mapping[str, Any]) -> dict:
    """The sidecar's ``"refit"`` entry for a helper's ``refit_map`` (name -> WeightSource)."""
    weights = {}
    for name, source in refit_map.items():
        entry = {"view": list(source.view), "dtype": str(source.dtype).removeprefix("torch.")}
        if source.key is not None:
            entry.update(key=source.key, shape=list(source.shape))
        weights[name] = entry
    computed = sum(source.key is None for source in refit_map.values())
    return {"weights": weights, "from_checkpoint": len(weights) - computed, "computed": computed}


def record(refit_map: Mapping[str, Any], plan, stripped: bool) -> None:
    """After a build: for a weight-stripped ``plan``, its sidecar's ``"refit"`` entry and ``<plan>.constants.pt``
    (the constants no state-dict key gives, written atomically); for a full plan, neither (an earlier stripped
    build's are removed)."""
    path = constants_path(plan)
    if not stripped:
        path.unlink(missing_ok=True)
        sidecar.update(plan, {"refit": None})
        return
    values = {name: source.value for name, source in refit_map.items() if source.key is None}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(values, tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    sidecar.update(plan, {"refit": describe(refit_map)})


def load_state(source: Any) -> Mapping[str, torch.Tensor]:
    """A state dict from a module, a mapping, or a ``torch.save`` file (memory-mapped); a ``{"model": …}`` or
    ``{"state_dict": …}`` wrapper is opened."""
    if isinstance(source, torch.nn.Module):
        return source.state_dict()
    if not isinstance(source, Mapping):
        source = torch.load(source, map_location="cpu", weights_only=True, mmap=True)
    for wrapper in ("model", "state_dict"):
        if isinstance(source.get(wrapper), Mapping):
            return source[wrapper]
    return source


def _prefix(state: Mapping[str, Any], keys: list[str]) -> str:
    """The prefix the checkpoint puts before the model's keys (``encoder.`` in a joint model's checkpoint)."""
    if not keys or keys[0] in state:
        return ""
    first = keys[0]
    found = [k[: -len(first)] for k in state if k.endswith("." + first)]
    return found[0] if len(found) == 1 else ""


def weights_for(plan, source: Any) -> dict[str, torch.Tensor]:
    """``{weights name: contiguous CPU tensor}`` for every weight of the weight-stripped ``plan``, in the shape and
    dtype the network holds it: from ``source`` (module, state dict or checkpoint path) by state-dict key, and from
    ``<plan>.constants.pt`` for computed constants.

    Raises:
        ValueError: the plan is not weight-stripped, or ``source`` lacks a key or holds it in another shape (the
            message names the module path and the shapes).
    """
    info = sidecar.read(plan).get("refit")
    if not info:
        raise ValueError(
            f"refit: {plan} is not a weight-stripped plan (its sidecar has no 'refit' entry); build it "
            "with helper.build(path, strip_weights=True)"
        )
    entries = info["weights"]
    state = load_state(source)
    keys = [e["key"] for e in entries.values() if "key" in e]
    prefix = _prefix(state, keys)
    missing = [k for k in keys if prefix + k not in state]
    if missing:
        shown = "; ".join(f"'{k}' ({_module_of(k)})" for k in missing[:5])
        more = f" … ({len(missing)} of {len(keys)} in all)" if len(missing) > 5 else ""
        raise ValueError(f"refit {plan}: the weights source lacks {shown}{more}")
    constants = (
        torch.load(constants_path(plan), map_location="cpu", weights_only=True) if len(keys) < len(entries) else {}
    )
    out = {}
    for name, entry in entries.items():
        dtype = getattr(torch, entry["dtype"])
        if "key" not in entry:
            out[name] = constants[name].to(dtype).contiguous()
            continue
        key, tensor = entry["key"], state[prefix + entry["key"]]
        if tuple(tensor.shape) != tuple(entry["shape"]):
            raise ValueError(
                f"refit {plan}: '{prefix + key}' ({_module_of(key)}) has shape {tuple(tensor.shape)}, "
                f"the plan was built with {tuple(entry['shape'])}"
            )
        out[name] = tensor.detach().to(device="cpu", dtype=dtype).reshape(entry["view"]).contiguous()
    return out


def apply(engine: Any, weights: Mapping[str, torch.Tensor], backend: Any) -> None:
    """Refit ``engine`` (a deserialized weight-stripped plan) with ``weights`` through the backend's refitter;
    a RuntimeError names the weights TensorRT wants and ``weights`` lacks, or those it refuses."""
    trt = backend.trt
    refitter = trt.Refitter(engine, backend.logger)
    wanted = list(refitter.get_all_weights())
    lacking = [name for name in wanted if name not in weights]
    if lacking:
        raise RuntimeError(
            f"refit: the plan wants weights {lacking[:5]} ({len(lacking)} in all) that its sidecar "
            "does not map; rebuild it with trt_helper"
        )
    arrays = {}
    for name in wanted:
        arrays[name] = weights[name].numpy()  # alive until refit_cuda_engine returns
        if not refitter.set_named_weights(name, trt.Weights(arrays[name])):
            raise RuntimeError(
                f"refit: TensorRT refused weights '{name}' of shape {tuple(weights[name].shape)} "
                f"{weights[name].dtype} (it expects {refitter.get_weights_prototype(name).size} values)"
            )
    missing = list(refitter.get_missing_weights())
    if missing or not refitter.refit_cuda_engine():
        raise RuntimeError(f"refit: TensorRT could not refit the engine (weights still missing: {missing[:5]})")
