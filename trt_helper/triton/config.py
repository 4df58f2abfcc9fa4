"""Triton ``config.pbtxt`` text for plans (from their sidecars) and for Python-backend models.

Rules (Triton's model-configuration docs): with ``max_batch_size > 0`` every input and output has the batch as dim 0
and ``dims`` omits it; a tensor that is only the batch (``(B,)``) is written ``dims: [1]`` with
``reshape { shape: [] }`` (clients, BLS callers included, then send it as (B, 1)).
With ``max_batch_size: 0``, ``dims`` is the full shape. ``-1`` marks a variable dim. The TensorRT backend uses only
the first optimization profile unless ``instance_group.profile`` names them, so every profile is listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TRITON_DTYPES = {
    "float32": "TYPE_FP32",
    "float16": "TYPE_FP16",
    "bfloat16": "TYPE_BF16",
    "int8": "TYPE_INT8",
    "uint8": "TYPE_UINT8",
    "int32": "TYPE_INT32",
    "int64": "TYPE_INT64",
    "bool": "TYPE_BOOL",
    "bytes": "TYPE_STRING",
}


class Enum(str):
    """A protobuf enum value: written without quotes."""


@dataclass
class Batching:
    """How Triton batches a model: ``max_batch_size`` (0 = the model sees full shapes, no batcher), the dynamic
    batcher's preferred sizes and queue delay, and the instance groups (count per GPU, or CPU instances)."""

    max_batch_size: int = 0
    preferred: tuple[int, ...] = ()
    queue_delay_us: int = 2000
    instances: int = 1
    gpus: tuple[int, ...] | None = None  # None: KIND_CPU (Python models); () : KIND_GPU on every GPU
    profiles: tuple[str, ...] = field(default_factory=tuple)


def batch_limit(sidecar: dict) -> int:
    """The largest batch every input accepts with batch as dim 0 in every profile, or 0 when some input or output
    does not have a dynamic dim 0 (then Triton must see full shapes: ``max_batch_size: 0``)."""
    tensors = sidecar["inputs"] + sidecar["outputs"]
    if not tensors or any(not t["shape"] or t["shape"][0] != -1 for t in tensors) or not sidecar["profiles"]:
        return 0
    limits = []
    for profile in sidecar["profiles"]:
        if any(profile[t["name"]]["min"][0] != 1 for t in sidecar["inputs"]):
            return 0  # Triton sends batches from 1 up; a profile that starts above 1 cannot serve them
        limits.append(min(profile[t["name"]]["max"][0] for t in sidecar["inputs"]))
    return max(limits)


def tensor_entries(tensors, batched: bool) -> list[dict]:
    """``input``/``output`` entries from sidecar tensors (name, dtype, shape)."""
    entries = []
    for tensor in tensors:
        if tensor["dtype"] not in TRITON_DTYPES:
            raise ValueError(
                f"tensor '{tensor['name']}': dtype {tensor['dtype']!r} has no Triton type "
                f"(known: {sorted(TRITON_DTYPES)})"
            )
        entry = {"name": tensor["name"], "data_type": Enum(TRITON_DTYPES[tensor["dtype"]])}
        dims = list(tensor["shape"][1:] if batched else tensor["shape"])
        if batched and not dims:
            entry.update(dims=[1], reshape={"shape": []})
        else:
            entry["dims"] = dims
        entry.update({k: v for k, v in tensor.items() if k in ("optional", "allow_ragged_batch")})
        entries.append(entry)
    return entries


def model_config(
    name: str,
    inputs: list[dict],
    outputs: list[dict],
    batching: Batching,
    *,
    platform: str = "",
    backend: str = "",
    parameters: dict | None = None,
) -> dict:
    """The config as nested dicts (see :func:`to_pbtxt`); exactly one of ``platform`` / ``backend``."""
    if bool(platform) == bool(backend):
        raise ValueError(f"model '{name}': give exactly one of platform ({platform!r}) and backend ({backend!r})")
    batched = batching.max_batch_size > 0
    config = {
        "name": name,
        **({"platform": platform} if platform else {"backend": backend}),
        "max_batch_size": batching.max_batch_size,
        "input": tensor_entries(inputs, batched),
        "output": tensor_entries(outputs, batched),
    }
    if batching.max_batch_size > 1:
        preferred = sorted({p for p in batching.preferred if 1 < p <= batching.max_batch_size})
        config["dynamic_batching"] = {
            "preferred_batch_size": preferred,
            "max_queue_delay_microseconds": batching.queue_delay_us,
        }
    group = {"count": batching.instances, "kind": Enum("KIND_CPU" if batching.gpus is None else "KIND_GPU")}
    if batching.gpus:
        group["gpus"] = list(batching.gpus)
    if batching.profiles:
        group["profile"] = list(batching.profiles)
    config["instance_group"] = [group]
    if parameters:
        config["parameters"] = [{"key": k, "value": {"string_value": str(v)}} for k, v in parameters.items()]
    return config


def plan_config(
    name: str,
    sidecar: dict,
    *,
    max_batch_size: int | None = None,
    preferred=None,
    queue_delay_us: int = 2000,
    instances: int = 1,
    gpus=(),
) -> dict:
    """A ``tensorrt_plan`` config for a plan's sidecar. ``max_batch_size`` caps the batch the profiles allow
    (default: all of it); ``preferred`` defaults to the profiles' opt batches and the maximum."""
    limit = batch_limit(sidecar)
    if max_batch_size is not None and max_batch_size > limit:
        raise ValueError(
            f"model '{name}': max_batch_size {max_batch_size} is more than the plan accepts ({limit}: "
            + ("batch is not dim 0 of every input and output" if limit == 0 else "the profiles' max batch")
            + f"; inputs {[(t['name'], t['shape']) for t in sidecar['inputs']]})"
        )
    size = limit if max_batch_size is None else max_batch_size
    if preferred is None:
        preferred = [p[t["name"]]["opt"][0] for p in sidecar["profiles"] for t in sidecar["inputs"]] + [size]
    batching = Batching(
        size,
        tuple(preferred),
        queue_delay_us,
        instances,
        tuple(gpus),
        tuple(str(i) for i in range(len(sidecar["profiles"]))),
    )
    return model_config(name, sidecar["inputs"], sidecar["outputs"], batching, platform="tensorrt_plan")


def _value(value) -> str:
    if isinstance(value, Enum):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise TypeError(f"config value {value!r}: expected str, int, float, bool or Enum")


def to_pbtxt(config: dict, indent: str = "") -> str:
    """Protobuf text format of nested dicts: dict -> message, list of dicts -> repeated message, list -> repeated
    scalar."""
    lines = []
    for key, value in config.items():
        if isinstance(value, dict):
            lines.append(f"{indent}{key} {{\n{to_pbtxt(value, indent + '  ')}{indent}}}")
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            body = ",\n".join(f"{indent}  {{\n{to_pbtxt(v, indent + '    ')}{indent}  }}" for v in value)
            lines.append(f"{indent}{key} [\n{body}\n{indent}]")
        elif isinstance(value, list):
            lines.append(f"{indent}{key}: [ {', '.join(_value(v) for v in value)} ]")
        else:
            lines.append(f"{indent}{key}: {_value(value)}")
    return "".join(line + "\n" for line in lines)
