"""Transcripts of every fixture clip with the real tiny.en weights, against peers nobody here wrote.

- HF transformers `generate` (greedy, no timestamps, the same suppress lists) on the same mel: token-identical
  on every clip (before our no-speech gate, which HF's generate does not have).
- faster-whisper (beam 1, temperature 0 only, no timestamps, VAD off) on the same 16 kHz samples, its own front
  end and decoder: identical text on >= 95 % of clips.
- WER (jiwer + whisper-normalizer) of ours <= faster-whisper's + 0.5 points, and below 20 % against the texts
  the clips were spoken from.
"""

import pytest
import torch

from models.whisper.decoding import DecodingRules, TorchRunner, greedy_decode, merge_windows, transcribe
from models.whisper.peers import faster_whisper_model, faster_whisper_text, hf_generate, hf_model, word_error_rate


@pytest.fixture(scope="module")
def our_texts(tokenizer, torch_decoded):
    """Our text per clip: the session's decoding with transcribe's no-speech gate."""
    names = sorted(torch_decoded)
    results = merge_windows([torch_decoded[n] for n in names], range(len(names)), len(names), tokenizer)
    return {name: result["text"] for name, result in zip(names, results)}


@pytest.fixture(scope="module")
def faster_whisper_texts(model_dir, clip_audio):
    pytest.importorskip("faster_whisper")
    model = faster_whisper_model(model_dir)
    return {name: faster_whisper_text(model, samples) for name, samples in sorted(clip_audio.items())}


def test_tokens_identical_to_transformers_generate(checkpoint, tokenizer, clip_mels, torch_decoded):
    pytest.importorskip("transformers")
    hf = hf_model(*checkpoint)
    differing = {}
    for name, mel in sorted(clip_mels.items()):
        expected = hf_generate(hf, tokenizer, mel)[0]
        if torch_decoded[name].tokens != expected:
            differing[name] = (torch_decoded[name].tokens, expected)
    assert not differing, differing


def test_text_identical_to_faster_whisper_on_95_percent(our_texts, faster_whisper_texts):
    differing = {
        n: (our_texts[n], faster_whisper_texts[n]) for n in our_texts if our_texts[n] != faster_whisper_texts[n]
    }
    print(f"identical to faster-whisper: {len(our_texts) - len(differing)}/{len(our_texts)}; differing: {differing}")
    assert len(our_texts) - len(differing) >= 0.95 * len(our_texts), differing


def test_word_error_rate_against_faster_whisper(manifest, our_texts, faster_whisper_texts):
    clips = [c for c in manifest if c["text"]]
    references = [c["text"] for c in clips]
    ours = word_error_rate(references, [our_texts[c["file"]] for c in clips])
    peer = word_error_rate(references, [faster_whisper_texts[c["file"]] for c in clips])
    print(f"WER over {len(clips)} clips: ours {ours:.2f} %, faster-whisper {peer:.2f} %")
    assert ours <= peer + 0.5
    assert ours < 20.0


def test_silence_gives_no_speech_like_faster_whisper(our_texts, faster_whisper_texts, torch_decoded):
    for name in ("silence_5s.flac", "noise_floor_3s.flac"):
        assert our_texts[name] == faster_whisper_texts[name] == ""
        assert torch_decoded[name].no_speech_prob > 0.6 and torch_decoded[name].avg_logprob < -1.0


def test_batch_of_four_matches_batch_one(tiny_model, rules, clip_mels, torch_decoded):
    names = ["long_29s.flac", "sentence_00.flac", "silence_5s.flac", "short_0p2s.flac"]  # rows end at different steps
    batched = greedy_decode(TorchRunner(tiny_model), torch.cat([clip_mels[n] for n in names]), rules)
    assert [d.tokens for d in batched] == [torch_decoded[n].tokens for n in names]


def test_no_cache_decoding_matches_cache(tiny_model, rules, clip_mels, torch_decoded):
    for name in ("sentence_03.flac", "short_0p2s.flac"):
        decoded = greedy_decode(TorchRunner(tiny_model, use_cache=False), clip_mels[name], rules)[0]
        assert decoded.tokens == torch_decoded[name].tokens


def test_transcribe_path_matches_session_decoding(tiny_model, tokenizer, data_dir, our_texts):
    names = ["sentence_01.flac", "noise_floor_3s.flac", "stereo_16k.flac"]
    results = transcribe(TorchRunner(tiny_model), tokenizer, [data_dir / n for n in names], batch_size=2)
    assert [r["text"] for r in results] == [our_texts[n] for n in names]
    assert results[1]["no_speech"] and results[1]["tokens"] == []


def test_max_new_tokens_stops_decoding(tiny_model, tokenizer, clip_mels, torch_decoded):
    rules = DecodingRules.from_tokenizer(tokenizer, max_new_tokens=5)
    decoded = greedy_decode(TorchRunner(tiny_model), clip_mels["sentence_24.flac"], rules)[0]
    assert decoded.tokens == torch_decoded["sentence_24.flac"].tokens[:5]
