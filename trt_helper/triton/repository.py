"""Write Triton model repositories for built plans: ``<repo>/<model>/config.pbtxt`` and ``<repo>/<model>/1/...``.

Executors of the plan models:
- ``tensorrt``: ``platform: "tensorrt_plan"`` with ``1/model.plan`` (a GPU host with the TensorRT the plan was
  built with; plugin plans need ``--backend-config=tensorrt,plugins=<libtrtplugin++.so>``).
- ``torch`` / ``reference``: the same model names, inputs and outputs as Python-backend models that run the PyTorch
  modules or trt_helper's reference executor on CPU (any host, e.g. PyTriton's bundled server). The front models
  (Whisper's greedy loop, the conformer's padding) call them by name through BLS either way.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from .. import sidecar
from .config import Batching, batch_limit, model_config, plan_config, to_pbtxt

EXECUTORS = ("tensorrt", "torch", "reference")
WHISPER_NETWORKS = ("encoder", "cross_kv", "decoder", "decoder_step")
_MODEL_PY = (
    '"""Triton Python-backend model: trt_helper.triton.backends.{module}."""\n\n'
    "from trt_helper.triton.backends.{module} import {cls} as TritonPythonModel  # noqa: F401\n"
)


def write_model(repo, config: dict, files: dict | None = None) -> Path:
    """``<repo>/<name>/config.pbtxt`` and ``1/<file>`` for each ``{file: source path or text}``."""
    directory = Path(repo) / config["name"]
    (directory / "1").mkdir(parents=True, exist_ok=True)
    (directory / "config.pbtxt").write_text(to_pbtxt(config))
    for name, source in (files or {}).items():
        target = directory / "1" / name
        target.unlink(missing_ok=True)
        if isinstance(source, Path):
            try:
                os.link(source, target)  # plans are large; a hard link when on the same file system
            except OSError:
                shutil.copyfile(source, target)
        else:
            target.write_text(source)
    return directory


def _python_files(module: str, cls: str) -> dict:
    return {"model.py": _MODEL_PY.format(module=module, cls=cls)}


def export_plan(
    repo,
    name: str,
    plan,
    executor: str = "tensorrt",
    parameters: dict | None = None,
    *,
    max_batch_size: int | None = None,
    preferred=None,
    queue_delay_us: int = 2000,
    instances: int = 1,
    gpus=(),
) -> Path:
    """One plan as model ``name``: a ``tensorrt_plan`` model, or (``torch``/``reference``) a Python model with the
    plan's inputs and outputs that runs the network on CPU (``parameters`` tell it which)."""
    if executor not in EXECUTORS:
        raise ValueError(f"export_plan('{name}'): executor must be one of {EXECUTORS}, got {executor!r}")
    info = sidecar.read(plan)
    config = plan_config(
        name,
        info,
        max_batch_size=max_batch_size,
        preferred=preferred,
        queue_delay_us=queue_delay_us,
        instances=instances,
        gpus=gpus,
    )
    if executor == "tensorrt":
        return write_model(repo, config, {"model.plan": Path(plan)})
    config = model_config(
        name,
        info["inputs"],
        info["outputs"],
        Batching(
            config["max_batch_size"],
            tuple(config.get("dynamic_batching", {}).get("preferred_batch_size", ())),
            queue_delay_us,
            instances,
        ),
        backend="python",
        parameters={"executor": executor, "plan": Path(plan).resolve(), **(parameters or {})},
    )
    return write_model(repo, config, _python_files("network", "NetworkModel"))


def export_whisper(
    repo,
    plans,
    precision: str = "fp32",
    executor: str = "tensorrt",
    *,
    model=None,
    max_batch: int | None = None,
    queue_delay_us: int = 20000,
    instances: int = 1,
    gpus=(),
    prefix: str = "whisper",
) -> list[Path]:
    """Whisper: ``<prefix>_{encoder,cross_kv,decoder,decoder_step}`` from the plans in ``plans`` (written by
    ``models.whisper.build``) and ``<prefix>``, a Python model running the greedy loop over them through BLS.

    ``<prefix>`` takes ``AUDIO`` (an encoded file's bytes, TYPE_STRING) or ``SAMPLES`` (16 kHz mono float32) and
    returns ``TEXT`` and ``TOKENS``; it batches requests (dynamic batching up to ``max_batch``, default the plans').
    """
    plans = Path(plans)
    manifest_path = plans / "whisper_plans.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{manifest_path}: not found; build the plans with python3 -m models.whisper.build")
    manifest = json.loads(manifest_path.read_text())
    weights = str(model or manifest["source"].split(": ", 1)[-1])
    tokenizer = manifest.get("tokenizer") or str(Path(weights) / "tokenizer.json")
    written = []
    for network in WHISPER_NETWORKS:
        plan = plans / f"whisper_{network}_{precision}.plan"
        written.append(
            export_plan(
                repo,
                f"{prefix}_{network}",
                plan,
                executor,
                {
                    "family": "whisper",
                    "network": network,
                    "weights": weights,
                    "precision": precision,
                    "max_batch": manifest["max_batch"],
                    "opt_batch": manifest["opt_batch"],
                },
                queue_delay_us=0,
                instances=instances,
                gpus=gpus,
            )
        )  # only BLS calls it
    size = max_batch or manifest["max_batch"]
    inputs = [
        {"name": "AUDIO", "dtype": "bytes", "shape": [-1, 1], "optional": True},
        {"name": "SAMPLES", "dtype": "float32", "shape": [-1, -1], "optional": True, "allow_ragged_batch": True},
    ]
    outputs = [
        {"name": "TEXT", "dtype": "bytes", "shape": [-1, 1]},
        {"name": "TOKENS", "dtype": "int32", "shape": [-1, -1]},
    ]
    config = model_config(
        prefix,
        inputs,
        outputs,
        Batching(size, (size,), queue_delay_us, instances),
        backend="python",
        parameters={"tokenizer": tokenizer, "prefix": prefix, "max_batch": size},
    )
    written.append(write_model(repo, config, _python_files("whisper", "WhisperModel")))
    return written


def export_conformer(
    repo,
    plan,
    executor: str = "tensorrt",
    *,
    name: str = "conformer_moe",
    queue_delay_us: int = 20000,
    instances: int = 1,
    gpus=(),
) -> list[Path]:
    """The conformer-MoE plan as ``<name>_plan`` and ``<name>``, a Python model that takes one utterance's
    ``FEATURES`` (T, F) per request, pads a batch of them into the plan's ``feat``/``feat_len`` and returns each
    request's ``LOGITS`` (T', V) and ``OUT_LEN``."""
    info = sidecar.read(plan)
    leaf = export_plan(
        repo,
        f"{name}_plan",
        plan,
        executor,
        {"family": "conformer_moe"},
        queue_delay_us=0,
        instances=instances,
        gpus=gpus,
    )
    feat = next(t for t in info["inputs"] if t["name"] == "feat")
    logits = next(t for t in info["outputs"] if t["name"] == "logits")
    size = batch_limit(info)
    profile = info["profiles"][0]["feat"]
    inputs = [{"name": "FEATURES", "dtype": "float32", "shape": [-1, -1, feat["shape"][2]], "allow_ragged_batch": True}]
    outputs = [
        {"name": "LOGITS", "dtype": "float32", "shape": [-1, -1, logits["shape"][2]]},
        {"name": "OUT_LEN", "dtype": "int32", "shape": [-1]},
    ]
    config = model_config(
        name,
        inputs,
        outputs,
        Batching(size, (size,), queue_delay_us, instances),
        backend="python",
        parameters={"plan_model": f"{name}_plan", "min_frames": profile["min"][1], "max_frames": profile["max"][1]},
    )
    return [leaf, write_model(repo, config, _python_files("conformer", "ConformerModel"))]
