"""Whisper tiny.en through a real Triton server (the one nvidia-pytriton bundles, CPU): the exported repository
with the torch executor, one server for the module, clients tritonclient HTTP and gRPC. Transcripts must equal
`sh infer.sh whisper --backend torch` on the same files; bad requests get their own error and the server keeps
serving."""

from __future__ import annotations

import concurrent.futures as futures

import numpy as np
import pytest
import soundfile

from trt_helper.triton import export_whisper
from trt_helper.triton.client import WhisperClient

from .fixtures import REPO, infer_sh, model_stats, serve, stats_since

CLIPS = [REPO / "tests" / "data" / "whisper" / f"sentence_{i:02d}.flac" for i in range(2)]


@pytest.fixture(scope="module")
def server(whisper_plans, parse_config, tmp_path_factory):
    repo = tmp_path_factory.mktemp("repo")
    export_whisper(repo, whisper_plans, "fp32", "torch")
    for config in repo.glob("*/config.pbtxt"):
        parse_config(config.read_text())
    running = serve(repo, repo.parent / "server.log")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def expected():
    """{file name: {"text", "tokens"}} printed by infer.sh (our PyTorch model, the CLI users run)."""
    return {
        row["audio"].rsplit("/", 1)[-1]: {"text": row["text"], "tokens": row["tokens"]}
        for row in infer_sh("whisper", "--backend", "torch", *CLIPS)
    }


def transcribe(server, protocol, clip, as_samples=False):
    client = WhisperClient(server.http_url if protocol == "http" else server.grpc_url, protocol)
    try:
        if as_samples:
            from models.whisper.audio import load_audio

            return client.transcribe(samples=load_audio(clip))
        return client.transcribe(audio=clip.read_bytes())
    finally:
        client.close()


def test_concurrent_requests_equal_infer_sh(server, expected):
    """Two clips at once over HTTP (file bytes) and gRPC (samples) each give infer.sh's transcript. Whether the
    dynamic batcher joins these four depends on timing (it did not on every run here), so batching is shown by
    benchmarks/serve_load.py (200 requests: 25 batches of 8), not asserted."""
    before = model_stats(server, "whisper")
    jobs = [(clip, protocol, protocol == "grpc") for clip in CLIPS for protocol in ("http", "grpc")]
    with futures.ThreadPoolExecutor(len(jobs)) as pool:
        results = list(pool.map(lambda job: transcribe(server, job[1], job[0], job[2]), jobs))
    for (clip, _, _), result in zip(jobs, results):
        assert result == expected[clip.name], clip.name
    assert stats_since(server, "whisper", before, len(jobs))[0] == len(jobs)


def bad_cases(tmp_path):
    long_wav = tmp_path / "long.wav"
    soundfile.write(long_wav, np.zeros(16000 * 31, np.float32), 16000)
    noise = np.random.default_rng(0).integers(0, 256, 10 * 2**20, dtype=np.uint8).tobytes()
    return [
        (
            {"samples": np.zeros(16000, np.float64)},
            "input 'SAMPLES' data-type is 'FP64', but model 'whisper' expects 'FP32'",
        ),
        ({"audio": b""}, "AUDIO \\(0 bytes\\): empty file"),
        ({"samples": np.zeros(0, np.float32)}, "SAMPLES is empty"),
        ({"audio": long_wav.read_bytes()}, "31.00 s is longer than Whisper's 30 s window; this model does not chunk"),
        ({}, "request has 0 inputs"),
        ({"audio": noise}, "AUDIO \\(10485760 bytes\\): not a readable audio file"),
    ]


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_bad_requests_get_their_own_error(server, expected, protocol, tmp_path):
    from tritonclient.utils import InferenceServerException

    client = WhisperClient(server.http_url if protocol == "http" else server.grpc_url, protocol)
    try:
        for kwargs, message in bad_cases(tmp_path):
            with pytest.raises(InferenceServerException, match=message):
                client.transcribe(**kwargs)
    finally:
        client.close()
    assert transcribe(server, protocol, CLIPS[0]) == expected[CLIPS[0].name]  # still serving
