"""What every Python-backend model here shares: parameters, tensors in and out, BLS calls, error responses."""

from __future__ import annotations

import json

import numpy as np
import torch
import torch.utils.dlpack


def pb_utils():
    """Triton's Python-backend module (only importable inside the stub)."""
    import triton_python_backend_utils

    return triton_python_backend_utils


def parameters(args) -> tuple[dict, dict]:
    """(the model config, its ``parameters`` as plain strings) from ``initialize``'s args."""
    config = json.loads(args["model_config"])
    return config, {key: value["string_value"] for key, value in config.get("parameters", {}).items()}


def to_torch(tensor) -> torch.Tensor:
    """A Triton tensor as a torch tensor (a copy on CPU; zero-copy through DLPack on a GPU)."""
    if tensor.is_cpu():
        return torch.from_numpy(tensor.as_numpy().copy())
    return torch.from_dlpack(tensor.to_dlpack())


def to_triton(name: str, tensor):
    """A torch tensor (or a numpy array, e.g. of bytes objects) as a Triton tensor."""
    pb = pb_utils()
    if isinstance(tensor, np.ndarray):
        return pb.Tensor(name, tensor)
    if tensor.device.type == "cpu":
        return pb.Tensor(name, tensor.contiguous().numpy())
    # to_dlpack is public API, but torch.utils.dlpack re-imports it from torch._C without marking the re-export
    capsule = torch.utils.dlpack.to_dlpack(tensor.contiguous())  # pyright: ignore[reportPrivateImportUsage]
    return pb.Tensor.from_dlpack(name, capsule)


def inputs_of(request, names) -> dict:
    """{name: torch tensor} of the request's inputs among ``names`` (absent optional inputs are left out)."""
    pb = pb_utils()
    found = {name: pb.get_input_tensor_by_name(request, name) for name in names}
    return {name: to_torch(tensor) for name, tensor in found.items() if tensor is not None}


def response(outputs: dict):
    """A response with ``{name: torch tensor}``."""
    return pb_utils().InferenceResponse(output_tensors=[to_triton(name, t) for name, t in outputs.items()])


def error_response(message: str):
    """A response that carries only ``message`` as its error (what the client's exception says)."""
    pb = pb_utils()
    return pb.InferenceResponse(output_tensors=[], error=pb.TritonError(message))


class BlsError(RuntimeError):
    """A model called through BLS answered with an error."""


def bls(model: str, inputs: dict, outputs) -> dict:
    """Run ``model`` on ``{name: torch tensor}`` inside ``execute``; its ``outputs`` as torch tensors."""
    pb = pb_utils()
    request = pb.InferenceRequest(
        model_name=model,
        requested_output_names=list(outputs),
        inputs=[to_triton(name, tensor) for name, tensor in inputs.items()],
    )
    answer = request.exec()
    if answer.has_error():
        raise BlsError(f"{model}: {answer.error().message()}")
    return {name: to_torch(pb.get_output_tensor_by_name(answer, name)) for name in outputs}
