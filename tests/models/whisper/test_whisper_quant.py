"""Quantized Whisper networks (real tiny.en weights, fp32): weight-only int4 g128 against PyTorch with the same
quantized weights; the int8 self-attention KV cache against rounding the fp cache."""

import pytest
import torch

from models.whisper.networks import decoder_network, encoder_network
from trt_helper import rel_error
from trt_helper.quant import fake_quantized, quantize_linears

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
    quantized = quantize_linears(tiny_model, bits=4, group_size=128)
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
