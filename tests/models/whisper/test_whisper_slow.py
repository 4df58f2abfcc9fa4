"""Heavier Whisper checks (pytest -m slow): the networks on every clip and HF fully end to end.

- the fp32 networks through the reference executor give our PyTorch model's tokens on every clip;
- the fp16 networks give the same text on >= 90 % of clips and a WER within 1 point of the fp32 model;
- transformers with its own WhisperFeatureExtractor (audio padding) and generate gives, on every clip, the
  tokens of our model fed our audio-padded mel (front end and model both checked against HF).
"""

import pytest
import torch

from models.whisper.audio import SAMPLE_RATE, log_mel_spectrogram
from models.whisper.decoding import TorchRunner, greedy_decode
from models.whisper.networks import ReferenceRunner
from models.whisper.peers import hf_generate, hf_model, word_error_rate

pytestmark = pytest.mark.slow


def test_fp32_networks_give_torch_tokens_on_every_clip(tiny_model, rules, clip_mels, torch_decoded):
    runner = ReferenceRunner(tiny_model, torch.float32)
    differing = [
        n
        for n, mel in sorted(clip_mels.items())
        if greedy_decode(runner, mel, rules)[0].tokens != torch_decoded[n].tokens
    ]
    assert not differing


def test_fp16_networks_transcribe_like_fp32(tiny_model, rules, tokenizer, manifest, clip_mels, torch_decoded):
    runner = ReferenceRunner(tiny_model, torch.float16)
    fp16 = {
        n: tokenizer.decode(greedy_decode(runner, mel, rules)[0].tokens).strip() for n, mel in sorted(clip_mels.items())
    }
    fp32 = {n: tokenizer.decode(d.tokens).strip() for n, d in torch_decoded.items()}
    same = sum(fp16[n] == fp32[n] for n in fp32)
    clips = [c for c in manifest if c["text"]]
    refs = [c["text"] for c in clips]
    wer16 = word_error_rate(refs, [fp16[c["file"]] for c in clips])
    wer32 = word_error_rate(refs, [fp32[c["file"]] for c in clips])
    print(f"fp16 networks: {same}/{len(fp32)} texts identical to fp32; WER {wer16:.2f} % vs {wer32:.2f} %")
    assert same >= 0.9 * len(fp32) and wer16 <= wer32 + 1.0


def test_transformers_end_to_end_with_its_feature_extractor(checkpoint, tiny_model, rules, tokenizer, clip_audio):
    transformers = pytest.importorskip("transformers")
    extractor = transformers.WhisperFeatureExtractor()
    hf = hf_model(*checkpoint)
    runner = TorchRunner(tiny_model)
    differing = {}
    for name, samples in sorted(clip_audio.items()):
        hf_mel = torch.from_numpy(extractor(samples, sampling_rate=SAMPLE_RATE, return_tensors="np").input_features)
        expected = hf_generate(hf, tokenizer, hf_mel)[0]
        ours = greedy_decode(runner, log_mel_spectrogram(samples, padding="audio"), rules)[0].tokens
        if ours != expected:
            differing[name] = (ours, expected)
    assert not differing
