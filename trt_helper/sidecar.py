"""The ``<plan>.json`` sidecar: what a plan takes and gives, written next to it by every build.

Serving tools need a plan's inputs and outputs (name, dtype, shape with -1 for dynamic dims), its optimization
profiles and the targets it was built for without deserializing it (which needs a GPU the plan supports).
``write`` merges into an existing sidecar, so model builders can add their own keys (config, seed, weights) to the
same file with :func:`update`.

    {"network": "whisper_encoder", "backend": "tensorrt_rtx", "targets": ["SM86"], "layers": 120, "plan_bytes": ...,
     "inputs": [{"name": "mel", "dtype": "float32", "shape": [-1, 80, 3000]}], "outputs": [...],
     "profiles": [{"mel": {"min": [1, 80, 3000], "opt": [1, 80, 3000], "max": [8, 80, 3000]}}]}
"""

from __future__ import annotations

import json
import os
from pathlib import Path

DTYPES = ("float32", "float16", "bfloat16", "int8", "uint8", "int32", "int64", "bool")


def path_of(plan) -> Path:
    """The sidecar of ``plan``: ``<plan>.json``."""
    return Path(f"{plan}.json")


def describe(helper, report) -> dict:
    """The sidecar of a network just built: I/O from ``helper``'s network, profiles, and ``report``'s facts."""
    network = helper.network

    def tensor(t):
        return {"name": t.name, "dtype": str(helper.torch_dtype(t)).removeprefix("torch."), "shape": list(t.shape)}

    profiles = [
        {name: {"min": list(lo), "opt": list(opt), "max": list(hi)} for name, (lo, opt, hi) in shapes.items()}
        for shapes in helper.profiles
        if shapes
    ]
    return {
        "network": helper.name,
        "backend": report.backend,
        "targets": list(report.targets),
        "layers": report.layers,
        "plan_bytes": report.plan_bytes,
        "inputs": [tensor(network.get_input(i)) for i in range(network.num_inputs)],
        "outputs": [tensor(network.get_output(i)) for i in range(network.num_outputs)],
        "profiles": profiles,
    }


def update(plan, values: dict) -> Path:
    """Merge ``values`` into ``plan``'s sidecar (created if missing); returns its path."""
    path = path_of(plan)
    data = json.loads(path.read_text()) if path.is_file() else {}
    data.update(values)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp, path)
    return path


def written(helper, report):
    """Write the sidecar of the plan ``report`` describes and return ``report`` (the builder's last step)."""
    update(report.path, describe(helper, report))
    return report


def read(plan) -> dict:
    """The sidecar of ``plan``, checked to hold inputs and outputs; a clear error when missing or malformed."""
    path = path_of(plan)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no sidecar for plan {plan}; rebuild the plan with trt_helper (every build writes <plan>.json)"
        )
    data = json.loads(path.read_text())
    for key in ("inputs", "outputs", "profiles"):
        if key not in data:
            raise ValueError(f"{path}: sidecar has no '{key}' (keys: {sorted(data)}); rebuild the plan with trt_helper")
    for entry in data["inputs"] + data["outputs"]:
        if entry.get("dtype") not in DTYPES:
            raise ValueError(f"{path}: tensor '{entry.get('name')}' has dtype {entry.get('dtype')!r}; known: {DTYPES}")
    return data
