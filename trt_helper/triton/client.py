"""Clients of the exported models over ``tritonclient`` HTTP or gRPC (one client object per thread).

client = WhisperClient("127.0.0.1:8000", "http")
client.transcribe(audio=open("clip.flac", "rb").read())     # {"text": ..., "tokens": [...]}
"""

from __future__ import annotations

from typing import Any

import numpy as np

PROTOCOLS = ("http", "grpc")


def _module(protocol: str):
    if protocol == "http":
        import tritonclient.http as module
    elif protocol == "grpc":
        import tritonclient.grpc as module
    else:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    return module


def make_input(protocol: str, name: str, array: np.ndarray, datatype: str | None = None):
    """A tritonclient input of ``array`` (``datatype`` defaults to the array's Triton type)."""
    from tritonclient.utils import np_to_triton_dtype

    module = _module(protocol)
    tensor = module.InferInput(name, list(array.shape), datatype or np_to_triton_dtype(array.dtype))
    tensor.set_data_from_numpy(array)
    return tensor


class ModelClient:
    """``infer(model, {name: array}) -> {output: array}`` over one protocol; errors are tritonclient's
    ``InferenceServerException`` carrying the server's message."""

    def __init__(self, url: str, protocol: str = "http", timeout: float = 600.0):
        self.protocol, self.timeout = protocol, timeout
        module = _module(protocol)
        if protocol == "http":
            import tritonclient.http

            self.client = tritonclient.http.InferenceServerClient(
                url, connection_timeout=timeout, network_timeout=timeout
            )
        else:
            self.client = module.InferenceServerClient(url)

    def infer(self, model: str, inputs: dict, outputs, datatypes: dict | None = None) -> dict:
        datatypes = datatypes or {}
        tensors = [make_input(self.protocol, name, array, datatypes.get(name)) for name, array in inputs.items()]
        kwargs: dict[str, Any] = {} if self.protocol == "http" else {"client_timeout": self.timeout}
        result = self.client.infer(model, tensors, **kwargs)
        if result is None:  # tritonclient raises on errors (its grpc error helper is just not annotated NoReturn)
            raise RuntimeError(f"{model}: tritonclient returned no result")
        return {name: result.as_numpy(name) for name in outputs}

    def close(self):
        self.client.close()


class WhisperClient(ModelClient):
    """The exported ``whisper`` model: one clip per request, as encoded bytes or 16 kHz float32 samples."""

    def transcribe(self, audio: bytes | None = None, samples: np.ndarray | None = None, model: str = "whisper") -> dict:
        inputs = {}
        if audio is not None:
            inputs["AUDIO"] = np.array([[audio]], dtype=np.object_)
        if samples is not None:
            inputs["SAMPLES"] = np.asarray(samples)[None]
        out = self.infer(model, inputs, ("TEXT", "TOKENS"))
        return {"text": out["TEXT"][0, 0].decode(), "tokens": out["TOKENS"][0].tolist()}
