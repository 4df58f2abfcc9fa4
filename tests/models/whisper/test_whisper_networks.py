"""The TensorRT networks built with trt_helper, evaluated by its reference executor, against our PyTorch model.

Tolerances, against the fp32 PyTorch model: fp32 networks rel err (max abs diff / max abs value) <= 1e-4; fp16
networks ||diff|| / ||value|| <= 2e-2. The fp16 bound is a norm because the max-element error of fp16 is set by
a few frames where tiny.en's last encoder MLP amplifies rounding (max-element rel err 2e-3 .. 1e-1 depending on
the clip, 1.6e-2 for our PyTorch model run in fp16 on the same clip); the max-element figure is printed too. Decoding through the networks must give the PyTorch model's tokens; the cache and
no-cache decoders must agree; batch 4 must equal batch 1. Plans are built ahead of time with TensorRT-RTX.
"""

import json
import subprocess
import sys

import pytest
import torch

from models.whisper.decoding import greedy_decode
from models.whisper.networks import DTYPES, NETWORKS, Profile, ReferenceRunner, all_networks, plan_name
from trt_helper import rel_error

pytest.importorskip("tensorrt_rtx")  # trt_helper's backend on CPU machines (a project dependency)

TOLERANCE = {"fp32": 1e-4, "fp16": 2e-2}


@pytest.fixture(scope="module")
def error():
    """The error measure each precision is held to: max-element for fp32, norm for fp16."""
    return lambda precision, actual, expected: rel_error(actual, expected, "max" if precision == "fp32" else "l2")


DECODE_CLIPS = ["sentence_00.flac", "sentence_04.flac", "short_0p2s.flac", "silence_5s.flac"]


@pytest.fixture(scope="module", params=["fp32", "fp16"])
def precision(request):
    return request.param


@pytest.fixture(scope="module")
def networks(tiny_model):
    cache = {}

    def get(precision):
        if precision not in cache:
            cache[precision] = all_networks(tiny_model, DTYPES[precision], Profile(max_batch=4))
        return cache[precision]

    return get


@pytest.fixture(scope="module")
def torch_state(tiny_model, clip_mels, torch_decoded):
    """fp32 PyTorch intermediates for two clips: mel, features, cross K/V, tokens (prompt + 6 decoded)."""
    names = ["sentence_05.flac", "sentence_16.flac"]
    mel = torch.cat([clip_mels[n] for n in names])
    tokens = torch.tensor([[50257, 50362] + torch_decoded[n].tokens[:6] for n in names])
    with torch.no_grad():
        features = tiny_model.encoder(mel)
        cross = tiny_model.decoder.cross_kv(features)
        logits, k, v = tiny_model.decoder(tokens, *cross)
        past = tiny_model.decoder(tokens[:, :-1], *cross)
    return {
        "mel": mel,
        "features": features,
        "cross": cross,
        "tokens": tokens,
        "logits": logits[:, -1],
        "k": k,
        "v": v,
        "past_k": past[1],
        "past_v": past[2],
    }


def test_encoder_network(networks, precision, torch_state, error):
    out = networks(precision)["encoder"].reference({"mel": torch_state["mel"]})["audio_features"]
    assert out.dtype == DTYPES[precision] and out.shape == (2, 1500, 384)
    measured = error(precision, out, torch_state["features"])
    print(f"encoder {precision}: {measured:.2e} (max-element rel err {rel_error(out, torch_state['features']):.2e})")
    assert measured <= TOLERANCE[precision]


def test_cross_kv_network(networks, precision, torch_state, error):
    features = torch_state["features"].to(DTYPES[precision])
    out = networks(precision)["cross_kv"].reference({"audio_features": features})
    assert out["cross_k"].shape == (4, 2, 1500, 384)
    errors = (
        error(precision, out["cross_k"], torch_state["cross"][0]),
        error(precision, out["cross_v"], torch_state["cross"][1]),
    )
    print(f"cross_kv {precision}: {errors}")
    assert max(errors) <= TOLERANCE[precision]


def test_decoder_networks(networks, precision, torch_state, error):
    dtype = DTYPES[precision]
    cross_k, cross_v = (t.to(dtype) for t in torch_state["cross"])
    tokens = torch_state["tokens"].to(torch.int32)
    full = networks(precision)["decoder"].reference({"tokens": tokens, "cross_k": cross_k, "cross_v": cross_v})
    step = networks(precision)["decoder_step"].reference(
        {
            "tokens": tokens[:, -1:],
            "cross_k": cross_k,
            "cross_v": cross_v,
            "past_k": torch_state["past_k"].to(dtype),
            "past_v": torch_state["past_v"].to(dtype),
        }
    )
    assert full["logits"].dtype == torch.float32 and full["logits"].shape == (2, 51864)
    assert full["present_k"].shape == step["present_k"].shape == (4, 2, 8, 384)
    errors = {
        f"{name}.{key}": error(precision, out[key], torch_state[ref])
        for name, out in (("decoder", full), ("decoder_step", step))
        for key, ref in (("logits", "logits"), ("present_k", "k"), ("present_v", "v"))
    }
    print(f"decoders {precision}: {errors}")
    assert max(errors.values()) <= TOLERANCE[precision], errors


@pytest.fixture(scope="module")
def reference_fp32(tiny_model, networks):
    return ReferenceRunner(tiny_model, networks=networks("fp32"))


@pytest.fixture(scope="module")
def reference_batch1(reference_fp32, rules, clip_mels):
    return {name: greedy_decode(reference_fp32, clip_mels[name], rules)[0].tokens for name in DECODE_CLIPS}


def test_reference_decoding_gives_torch_tokens(reference_batch1, torch_decoded):
    assert reference_batch1 == {name: torch_decoded[name].tokens for name in DECODE_CLIPS}


def test_no_cache_decoder_gives_cache_tokens(tiny_model, networks, rules, clip_mels, reference_batch1):
    no_cache = ReferenceRunner(tiny_model, use_cache=False, networks=networks("fp32"))
    for name in DECODE_CLIPS[:3]:
        assert greedy_decode(no_cache, clip_mels[name], rules)[0].tokens == reference_batch1[name], name


def test_batch_four_gives_batch_one_tokens(reference_fp32, rules, clip_mels, reference_batch1):
    decoded = greedy_decode(reference_fp32, torch.cat([clip_mels[n] for n in DECODE_CLIPS]), rules)
    assert [d.tokens for d in decoded] == [reference_batch1[n] for n in DECODE_CLIPS]


def test_step_network_takes_one_token(reference_fp32):
    with pytest.raises(ValueError, match=r"one new token per row, got tokens \(1, 2\)"):
        reference_fp32.step(None, torch.zeros(1, 2, dtype=torch.int64), None)


def test_network_io_shapes_depend_only_on_shapes(networks):
    step = networks("fp32")["decoder_step"].network
    inputs = {step.get_input(i).name: tuple(step.get_input(i).shape) for i in range(step.num_inputs)}
    outputs = {step.get_output(i).name: tuple(step.get_output(i).shape) for i in range(step.num_outputs)}
    assert inputs == {
        "tokens": (-1, 1),
        "cross_k": (4, -1, 1500, 384),
        "cross_v": (4, -1, 1500, 384),
        "past_k": (4, -1, -1, 384),
        "past_v": (4, -1, -1, 384),
    }
    assert outputs == {"logits": (-1, 51864), "present_k": (4, -1, -1, 384), "present_v": (4, -1, -1, 384)}


def test_plans_build_for_fp32_and_fp16(tiny_model, tmp_path):
    for precision in ("fp32", "fp16"):
        for name, helper in all_networks(tiny_model, DTYPES[precision]).items():
            report = helper.build(tmp_path / plan_name(name, precision))
            assert report.targets and report.layers > 10
            size = (tmp_path / plan_name(name, precision)).stat().st_size
            if name.startswith("decoder"):  # holds the (51864, 384) token table once
                assert size >= 51864 * 384 * (4 if precision == "fp32" else 2)


def test_build_command_other_size(tmp_path, data_dir):
    repo = data_dir.parents[2]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "models.whisper.build",
            "--size",
            "base.en",
            "--precision",
            "fp16",
            "--networks",
            "encoder,decoder_step",
            "--max-batch",
            "2",
            "--out",
            str(tmp_path),
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "whisper_plans.json").read_text())
    assert manifest["dims"]["n_text_state"] == 512 and manifest["max_batch"] == 2
    assert sorted(manifest["plans"]) == ["whisper_decoder_step_fp16.plan", "whisper_encoder_fp16.plan"]
    assert set(NETWORKS) >= {"encoder", "decoder_step"}
