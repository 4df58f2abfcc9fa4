"""The conformer-MoE (small, fp32) through a real Triton server: the front model pads the utterances Triton batched
together into the plan's feat/feat_len; the plan model runs the network with the reference executor (CPU). Each
utterance's logits must equal `sh infer.sh conformer_moe PLAN --runner reference --feat ...` (one utterance,
no padding) to 1e-5 of their largest magnitude, and out_len exactly."""

from __future__ import annotations

import concurrent.futures as futures

import numpy as np
import pytest

from trt_helper.triton import export_conformer
from trt_helper.triton.client import ModelClient

from .fixtures import infer_sh, model_stats, serve, stats_since

FRAMES = (61, 97)  # two lengths: the batch is padded to 97 frames


@pytest.fixture(scope="module")
def server(conformer_plan, parse_config, tmp_path_factory):
    repo = tmp_path_factory.mktemp("repo")
    export_conformer(repo, conformer_plan, "reference", queue_delay_us=500_000)  # the two requests form one batch
    for config in repo.glob("*/config.pbtxt"):
        parse_config(config.read_text())
    running = serve(repo, repo.parent / "server.log")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def utterances(conformer_plan, tmp_path_factory):
    """[(features (T, 80), infer.sh's logits, out_len)] for each length in FRAMES."""
    out = tmp_path_factory.mktemp("features")
    rng = np.random.default_rng(0)
    cases = []
    for frames in FRAMES:
        feat = rng.standard_normal((frames, 80)).astype(np.float32)
        np.save(out / f"feat{frames}.npy", feat)
        infer_sh(
            "conformer_moe",
            conformer_plan,
            "--runner",
            "reference",
            "--feat",
            out / f"feat{frames}.npy",
            "--out",
            out / f"ref{frames}.npz",
        )
        reference = np.load(out / f"ref{frames}.npz")
        cases.append((feat, reference["logits"][0], int(reference["out_len"][0])))
    return cases


def test_padded_batch_equals_infer_sh(server, utterances):
    protocols = ("http", "grpc")
    clients = [ModelClient(server.http_url if p == "http" else server.grpc_url, p) for p in protocols]
    before = model_stats(server, "conformer_moe")
    try:  # clients made first: both requests then reach the batcher well within its 500 ms queue delay
        with futures.ThreadPoolExecutor(len(clients)) as pool:
            results = list(
                pool.map(
                    lambda job: job[0].infer("conformer_moe", {"FEATURES": job[1][0][None]}, ("LOGITS", "OUT_LEN")),
                    zip(clients, utterances),
                )
            )
    finally:
        for client in clients:
            client.close()
    assert stats_since(server, "conformer_moe", before, len(clients)) == (2, 1)  # padded into one batch
    for (feat, logits, out_len), result in zip(utterances, results):
        assert int(result["OUT_LEN"].reshape(-1)[0]) == out_len
        served = result["LOGITS"][0]
        assert served.shape == (out_len, logits.shape[1])
        assert np.abs(served - logits[:out_len]).max() <= 1e-5 * np.abs(logits[:out_len]).max(), feat.shape


def test_too_short_utterance_is_refused_by_name(server, utterances):
    from tritonclient.utils import InferenceServerException

    client = ModelClient(server.http_url, "http")
    try:
        with pytest.raises(InferenceServerException, match="3 frames is outside the plan's profile \\[7, 6100\\]"):
            client.infer("conformer_moe", {"FEATURES": np.zeros((1, 3, 80), np.float32)}, ("LOGITS",))
        result = client.infer("conformer_moe", {"FEATURES": utterances[0][0][None]}, ("OUT_LEN",))
    finally:
        client.close()
    assert int(result["OUT_LEN"].reshape(-1)[0]) == utterances[0][2]
