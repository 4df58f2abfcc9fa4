"""Audio reading, log-mel front end and tokenizer, each against an independent implementation or a stated fact.

Peers: transformers' WhisperFeatureExtractor (audio-padded mel), faster-whisper's FeatureExtractor (mel-padded,
openai-transcribe style), soundfile for the raw samples, librosa for resampling, the tokenizer config shipped
with the weights (made by the CTranslate2 converter from HF's generation_config).
"""

import json

import numpy as np
import pytest
import soundfile
import torch

from models.whisper.audio import N_FRAMES, SAMPLE_RATE, AudioError, load_audio, log_mel_spectrogram, mel_filters


def test_mel_audio_padding_matches_transformers_feature_extractor(clip_audio):
    transformers = pytest.importorskip("transformers")
    extractor = transformers.WhisperFeatureExtractor()  # defaults: 80 bins, 16 kHz, n_fft 400, hop 160, 30 s
    samples = [clip_audio["sentence_05.flac"], clip_audio["long_29s.flac"], clip_audio["short_0p2s.flac"]]
    expected = torch.from_numpy(extractor(samples, sampling_rate=SAMPLE_RATE, return_tensors="np").input_features)
    ours = log_mel_spectrogram(samples, padding="audio")
    assert ours.shape == expected.shape == (3, 80, N_FRAMES)
    assert float((ours - expected).abs().max()) <= 1e-4


def test_mel_default_padding_matches_faster_whisper(clip_audio):
    feature_extractor = pytest.importorskip("faster_whisper.feature_extractor")
    extractor = feature_extractor.FeatureExtractor()
    for name in ("sentence_05.flac", "long_29s.flac", "silence_5s.flac"):
        features = extractor(clip_audio[name])
        content = features.shape[-1] - 1  # what faster-whisper's generate_segments calls content_frames
        expected = torch.from_numpy(np.pad(features[:, :content], ((0, 0), (0, N_FRAMES - content))))
        ours = log_mel_spectrogram(clip_audio[name])[0]
        assert float((ours - expected).abs().max()) <= 2e-4, name


def test_mel_filters_are_librosa_slaney():
    librosa = pytest.importorskip("librosa")
    filters = mel_filters(80)
    assert filters.shape == (80, 201)
    expected = librosa.filters.mel(sr=16000, n_fft=400, n_mels=80, htk=False, norm="slaney")
    assert torch.equal(filters, torch.from_numpy(expected).float())


def test_mel_rejects_bad_shapes():
    with pytest.raises(ValueError, match="padding must be one of"):
        log_mel_spectrogram(np.zeros(100, np.float32), padding="zeros")
    with pytest.raises(ValueError, match=r"1-D with samples, got shapes \[\(0,\)\]"):
        log_mel_spectrogram([np.zeros(0, np.float32)])
    with pytest.raises(ValueError, match="empty list"):
        log_mel_spectrogram([])


def test_load_audio_matches_soundfile_for_16k_mono(data_dir):
    raw, rate = soundfile.read(data_dir / "sentence_00.flac", dtype="float32")
    assert rate == SAMPLE_RATE
    np.testing.assert_array_equal(load_audio(data_dir / "sentence_00.flac"), raw)


def test_stereo_is_averaged(data_dir):
    raw, rate = soundfile.read(data_dir / "stereo_16k.flac", dtype="float32")
    assert raw.shape[1] == 2 and rate == SAMPLE_RATE
    np.testing.assert_allclose(load_audio(data_dir / "stereo_16k.flac"), raw.mean(axis=1), rtol=0, atol=1e-7)


@pytest.mark.parametrize("name, rate", [("rate_8k.wav", 8000), ("rate_44k1.flac", 44100)])
def test_other_rates_are_resampled_or_rejected(name, rate, data_dir):
    librosa = pytest.importorskip("librosa")
    raw, file_rate = soundfile.read(data_dir / name, dtype="float32")
    assert file_rate == rate
    samples = load_audio(data_dir / name)
    np.testing.assert_allclose(samples, librosa.resample(raw, orig_sr=rate, target_sr=SAMPLE_RATE), atol=1e-6)
    assert abs(len(samples) - len(raw) * SAMPLE_RATE / rate) <= 1
    with pytest.raises(AudioError, match=f"sample rate {rate} Hz, Whisper needs 16000 Hz"):
        load_audio(data_dir / name, resample=False)


def test_bad_files_raise_clear_errors(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioError, match=r"empty\.wav: empty file \(0 bytes\)"):
        load_audio(empty)
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 4)
    with pytest.raises(AudioError, match=r"corrupt\.wav: not a readable audio file"):
        load_audio(corrupt)
    no_frames = tmp_path / "no_frames.wav"
    soundfile.write(no_frames, np.zeros(0, np.float32), SAMPLE_RATE)
    with pytest.raises(AudioError, match=r"no_frames\.wav: no samples"):
        load_audio(no_frames)
    with pytest.raises(AudioError, match=r"missing\.wav: no such file"):
        load_audio(tmp_path / "missing.wav")


def test_manifest_describes_the_committed_clips(manifest, data_dir):
    sentences = [c for c in manifest if c["kind"] == "sentence"]
    assert len(sentences) >= 20
    for clip in manifest:
        info = soundfile.info(data_dir / clip["file"])
        assert info.samplerate == clip["sample_rate"] and info.channels == clip["channels"]
        assert abs(info.duration - clip["duration"]) < 1e-3
    assert all(2.0 <= c["duration"] <= 12.0 for c in sentences)
    kinds = {c["kind"] for c in manifest}
    assert {"silence", "short", "long", "stereo", "rate_8k", "rate_44k1"} <= kinds


def test_special_tokens_are_the_english_vocabulary_ids(tokenizer):
    # research/whisper.md §2.2 (openai tokenizer.py order, HF's tiny.en generation tests)
    assert (
        tokenizer.eot,
        tokenizer.sot,
        tokenizer.translate,
        tokenizer.transcribe,
        tokenizer.sot_lm,
        tokenizer.sot_prev,
        tokenizer.no_speech,
        tokenizer.no_timestamps,
    ) == (50256, 50257, 50357, 50358, 50359, 50360, 50361, 50362)
    assert tokenizer.sot_sequence() == [50257, 50362]
    assert not tokenizer.is_multilingual


def test_suppress_lists_match_the_shipped_generation_config(tokenizer, model_dir):
    config = json.loads((model_dir / "config.json").read_text())
    assert tokenizer.suppress_tokens() == sorted(config["suppress_ids"])
    assert tokenizer.begin_suppress_tokens() == sorted(config["suppress_ids_begin"]) == [220, 50256]


def test_tokenizer_round_trip_and_special_tokens_dropped(tokenizer):
    text = " The quick brown fox, it's 5 km away."
    ids = tokenizer.encode(text)
    assert tokenizer.decode(ids) == text
    assert tokenizer.decode([tokenizer.sot, tokenizer.no_timestamps] + ids + [tokenizer.eot]) == text
