"""Whisper as one Triton model: audio in, text out, the greedy loop run here over the four network models through
BLS (``<prefix>_encoder``, ``_cross_kv``, ``_decoder``, ``_decoder_step``: TensorRT plans on a GPU host, or their CPU
stand-ins). Requests that Triton batched together are decoded as one batch.

Inputs (one of them per request): ``AUDIO`` an encoded file's bytes (WAV, FLAC, OGG; resampled to 16 kHz) or
``SAMPLES`` 16 kHz mono float32. Outputs: ``TEXT`` and ``TOKENS``. A request that cannot be decoded (missing input,
unreadable or empty audio, over Whisper's 30 s window) gets an error naming why; the others in its batch are served.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import torch

from .common import bls, error_response, inputs_of, parameters, pb_utils, response

NETWORK_OUTPUTS = {
    "encoder": ("audio_features",),
    "cross_kv": ("cross_k", "cross_v"),
    "decoder": ("logits", "present_k", "present_v"),
    "decoder_step": ("logits", "present_k", "present_v"),
}


def bls_runner(prefix: str):
    """models.whisper's NetworkRunner whose four networks are Triton models called through BLS."""
    from models.whisper.networks import NetworkRunner

    calls = {
        name: (lambda inputs, n=name: bls(f"{prefix}_{n}", inputs, NETWORK_OUTPUTS[n])) for name in NETWORK_OUTPUTS
    }
    return NetworkRunner(calls, torch.float32, use_cache=True, name="triton-bls")


def decode_audio(data: bytes) -> np.ndarray:
    """16 kHz mono float32 samples of an encoded file (models.whisper.audio.load_audio reads it)."""
    from models.whisper.audio import AudioError, load_audio

    handle, path = tempfile.mkstemp(prefix="whisper-audio-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        return load_audio(path)
    except AudioError as error:
        raise AudioError(str(error).replace(path, f"AUDIO ({len(data)} bytes)")) from None
    finally:
        os.unlink(path)


def request_samples(request) -> np.ndarray:
    """The request's audio as samples, checked: exactly one input, not empty, finite, at most 30 s."""
    from models.whisper.decoding import LongAudioError, split_windows

    pb = pb_utils()
    audio, samples = (pb.get_input_tensor_by_name(request, name) for name in ("AUDIO", "SAMPLES"))
    if (audio is None) == (samples is None):
        raise ValueError(
            "whisper: give exactly one of AUDIO (an encoded file's bytes, TYPE_STRING [1]) and SAMPLES "
            f"(16 kHz mono float32 [N]); got {'both' if audio is not None else 'neither'}"
        )
    if audio is not None:
        values = audio.as_numpy().reshape(-1)
        if values.size != 1:
            raise ValueError(f"whisper: AUDIO must hold one file per request, got {values.size} elements")
        name, wave = "AUDIO", decode_audio(bytes(values[0]))
    else:
        name, wave = "SAMPLES", inputs_of(request, ["SAMPLES"])["SAMPLES"].reshape(-1).numpy()
        if wave.size == 0:
            raise ValueError("whisper: SAMPLES is empty (0 samples)")
        if not np.isfinite(wave).all():
            raise ValueError(f"whisper: SAMPLES holds {int((~np.isfinite(wave)).sum())} NaN or infinite values")
    try:
        split_windows(wave, "error", name=name)
    except LongAudioError as error:
        raise LongAudioError(
            str(error).split(";")[0] + "; this model does not chunk: send at most 30 s per request "
            "(or chunk with sh infer.sh whisper --long-audio chunk)"
        ) from None
    return wave


class WhisperModel:
    """Triton model; parameters: ``tokenizer`` (tokenizer.json) and ``prefix`` (the network models' prefix)."""

    def initialize(self, args):
        from models.whisper.decoding import DecodingRules
        from models.whisper.tokenizer import WhisperTokenizer

        _, params = parameters(args)
        self.tokenizer = WhisperTokenizer(params["tokenizer"])
        self.rules = DecodingRules.from_tokenizer(self.tokenizer)
        self.runner = bls_runner(params["prefix"])

    def execute(self, requests):
        from models.whisper.decoding import transcribe

        responses, waves = [None] * len(requests), []
        for index, request in enumerate(requests):
            try:
                waves.append((index, request_samples(request)))
            except ValueError as error:  # AudioError and LongAudioError are ValueErrors
                responses[index] = error_response(str(error))
        if waves:
            try:
                results = transcribe(
                    self.runner, self.tokenizer, [wave for _, wave in waves], batch_size=len(waves), rules=self.rules
                )
                for (index, _), result in zip(waves, results):
                    responses[index] = response(
                        {
                            "TEXT": np.array([[result["text"].encode()]], dtype=np.object_),
                            "TOKENS": torch.tensor([result["tokens"]], dtype=torch.int32),
                        }
                    )
            except Exception as error:  # a failing network model: every request of this batch says why
                for index, _ in waves:
                    responses[index] = error_response(f"whisper: decoding failed: {type(error).__name__}: {error}")
        return responses
