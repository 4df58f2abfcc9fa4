"""Quantized Whisper networks (real tiny.en weights, fp32): weight-only int4 g128 against PyTorch with the same
quantized weights; the int8 self-attention KV cache against rounding the fp cache and against the PyTorch model
with the same int8 cache; the build and infer commands' quantized variants."""

import json
import subprocess
import sys

import pytest
import torch

from models.whisper.decoding import TorchRunner, transcribe
from models.whisper.networks import decoder_network, encoder_network
from models.whisper.quantized import TIED_TABLES, Int8CacheRunner, kv_cache_scales
from trt_helper import rel_error
from trt_helper.quant import calibrate, calibrate_network, fake_quantized, quantize_linears

pytest.importorskip("tensorrt_rtx")


@pytest.fixture(scope="module")
def state(tiny_model, clip_mels, torch_decoded):
    names = ["sentence_05.flac", "sentence_16.flac"]
    mel = torch.cat([clip_mels[n] for n in names])
    tokens = torch.tensor([[50257, 50362] + torch_decoded[n].tokens[:6] for n in names])
    return mel, tokens


@pytest.mark.slow  # ~30 s of reference executor on 2 cores
def test_int4_g128_networks_equal_torch_with_quantized_weights(tiny_model, state):
    mel, tokens = state
    quantized = quantize_linears(tiny_model, bits=4, group_size=128, tables=TIED_TABLES)
    fake = fake_quantized(tiny_model, quantized)
    with torch.no_grad():
        features, fp_features = fake.encoder(mel), tiny_model.encoder(mel)
        cross = fake.decoder.cross_kv(features)
        logits = fake.decoder(tokens, *cross)[0][:, -1]
    encoder = encoder_network(tiny_model, torch.float32, weights="int4", group_size=128)
    out = encoder.reference({"mel": mel})["audio_features"]
    assert rel_error(out, features) <= 1e-4
    assert rel_error(out, fp_features) > 1e-3  # it did quantize
    decoder = decoder_network(tiny_model, torch.float32, quantized=quantized)
    got = decoder.reference({"tokens": tokens.to(torch.int32), "cross_k": cross[0], "cross_v": cross[1]})
    assert rel_error(got["logits"], logits) <= 1e-4


def test_int8_kv_cache(tiny_model, state):
    mel, tokens = state
    with torch.no_grad():
        cross = tiny_model.decoder.cross_kv(tiny_model.encoder(mel))
        logits, k, v = tiny_model.decoder(tokens, *cross)
    scales = (float(k.abs().max()) / 127, float(v.abs().max()) / 127)
    inputs = {"cross_k": cross[0], "cross_v": cross[1]}
    prefix = decoder_network(tiny_model, torch.float32, kv_scales=scales).reference(
        {"tokens": tokens[:, :-1].to(torch.int32), **inputs}
    )
    assert prefix["present_k"].dtype == torch.int8
    for name, fp, scale in (("present_k", k[:, :, :-1], scales[0]), ("present_v", v[:, :, :-1], scales[1])):
        assert (prefix[name].float() - torch.round(fp / scale)).abs().max() <= 1, name  # quantized on write
    step = decoder_network(tiny_model, torch.float32, cache=True, kv_scales=scales).reference(
        {
            "tokens": tokens[:, -1:].to(torch.int32),
            "past_k": prefix["present_k"],
            "past_v": prefix["present_v"],
            **inputs,
        }
    )
    err = rel_error(step["logits"], logits[:, -1], "l2")
    assert 1e-5 < err <= 2e-2, err  # dequantized on read: close to the fp cache, not equal
    assert step["logits"].argmax(-1).tolist() == logits[:, -1].argmax(-1).tolist()
    # the PyTorch model with the same int8 cache (--backend torch --kv-cache int8)
    runner = Int8CacheRunner(tiny_model, scales)
    _, cache = runner.prefix(cross, tokens[:, :-1])
    for got, want in zip(cache, (prefix["present_k"], prefix["present_v"])):
        assert got.dtype == torch.int8 and (got.int() - want.int()).abs().max() <= 1  # a tie may round either way
        assert (got != want).float().mean() < 1e-3
    torch_logits, grown = runner.step(cross, tokens[:, -1:], (prefix["present_k"], prefix["present_v"]))
    assert rel_error(torch_logits, step["logits"]) <= 1e-4
    assert (grown[0].int() - step["present_k"].int()).abs().max() <= 1


def test_kv_calibration_through_the_reference_executor(tiny_model, state):
    """Every decoder linear's output absmax from the decoder network (reference executor) = PyTorch's (fp32)."""
    mel, tokens = state
    with torch.no_grad():
        cross = tiny_model.decoder.cross_kv(tiny_model.encoder(mel))
    want = calibrate(tiny_model, lambda m: m.decoder(tokens, *cross), per_channel=False, output=True)
    feeds = [{"tokens": tokens.to(torch.int32), "cross_k": cross[0], "cross_v": cross[1]}]
    got = calibrate_network(decoder_network(tiny_model, torch.float32), feeds, per_channel=False, output=True)
    assert set(got) == set(want) and len(want) == 4 * 8  # q, k, v, out, cross q, cross out, fc1, fc2 per layer
    assert max(abs(float(got[p]) / float(want[p]) - 1) for p in want) <= 1e-5


@pytest.mark.slow  # ~1 min: one clip decoded through the four networks by the reference executor
def test_kv_cache_scales_reference_equal_torch(tiny_model, tokenizer, clip_audio):
    audio = [clip_audio["sentence_00.flac"]]
    torch_scales = kv_cache_scales(tiny_model, tokenizer, audio)
    reference_scales = kv_cache_scales(tiny_model, tokenizer, audio, executor="reference")
    assert reference_scales == pytest.approx(torch_scales, rel=1e-5)


def _run(module, args, repo):
    done = subprocess.run([sys.executable, "-m", module, *args], cwd=repo, capture_output=True, text=True, timeout=600)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.slow  # ~1 min on 2 cores: a calibration transcript and 6 plans
def test_build_quantized_variants(tmp_path, data_dir):
    repo = data_dir.parents[2]
    args = ["--precision", "fp16", "--networks", "encoder,decoder_step", "--max-batch", "2", "--out", str(tmp_path)]
    args += ["--weights", "fp,int4", "--kv-cache", "fp,int8", "--calibration", str(data_dir / "sentence_00.flac")]
    status, _, stderr = _run("models.whisper.build", args, repo)
    assert status == 0, stderr
    plans = json.loads((tmp_path / "whisper_plans.json").read_text())["plans"]
    assert sorted(plans) == [
        f"whisper_{name}_fp16{suffix}.plan"
        for name, suffix in [
            ("decoder_step", ""),
            ("decoder_step", "_int4-g64"),
            ("decoder_step", "_int4-g64_kv-int8"),
            ("decoder_step", "_kv-int8"),
            ("encoder", ""),
            ("encoder", "_int4-g64"),
        ]
    ]
    kv = plans["whisper_decoder_step_fp16_kv-int8.plan"]
    assert kv["kv_cache"] == "int8" and all(0.01 < s < 0.2 for s in kv["kv_scales"]), kv  # tiny.en: ~0.05, ~0.036
    encoder, int4 = plans["whisper_encoder_fp16.plan"]["bytes"], plans["whisper_encoder_fp16_int4-g64.plan"]["bytes"]
    assert int4 < 0.6 * encoder, (int4, encoder)  # the 2.4 M linear weights at ½ byte (measured 50 %)


def test_infer_quantized_variants(data_dir, tiny_model, tokenizer, clip_audio):
    repo = data_dir.parents[2]
    clip = str(data_dir / "sentence_02.flac")
    args = ["--backend", "torch", "--weights", "int8", "--kv-cache", "int8", "--calibration", clip, clip]
    status, stdout, stderr = _run("models.whisper.infer", args, repo)
    assert status == 0, stderr
    fp = transcribe(TorchRunner(tiny_model), tokenizer, [clip_audio["sentence_02.flac"]])[0]
    assert json.loads(stdout)["tokens"] == fp["tokens"]  # int8 weights and cache keep this transcript
    status, _, stderr = _run(
        "models.whisper.infer",
        ["--backend", "trt", "--weights", "int4", "--kv-cache", "int8", "--plans", str(data_dir / "none"), clip],
        repo,
    )
    assert status != 0
    assert "whisper_encoder_fp32_int4-g64.plan" in stderr and "whisper_decoder_fp32_int4-g64_kv-int8.plan" in stderr
    assert "--precision fp32 --weights int4 --group-size 64 --kv-cache int8" in stderr
    status, _, stderr = _run("models.whisper.infer", ["--kv-cache", "int8", "--no-cache", clip], repo)
    assert status == 2 and "--kv-cache int8 quantizes the self-attention cache; it cannot go with --no-cache" in stderr
