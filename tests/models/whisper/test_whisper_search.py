"""Beam search, timestamps, sampling fallback and batching against CTranslate2's Whisper generate (the decoder
faster-whisper calls), on the real tiny.en weights and the same mel (faster-whisper's feature extractor).

Tolerance: token-identical sequences; avg_logprob within 1e-3 of the peer's score-derived value.
"""

import pytest

from models.whisper.decoding import TorchRunner
from models.whisper.fallback import compression_ratio
from models.whisper.long_form import TranscribeOptions, split_segments, transcribe_files, whole_mel, window
from models.whisper.search import SearchOptions, search

faster_whisper = pytest.importorskip("faster_whisper")

CLIPS = ["sentence_05.flac", "short_0p2s.flac"]


@pytest.fixture(scope="module")
def peer(model_dir):
    from models.whisper.peers import faster_whisper_model

    return faster_whisper_model(model_dir)


def _peer_generate(peer, samples, prompt, tokenizer, **kwargs):
    features = peer.feature_extractor(samples)
    encoded = peer.encode(faster_whisper.transcribe.pad_or_trim(features[:, : features.shape[1] - 1]))
    result = peer.model.generate(
        encoded,
        [prompt],
        max_length=448,
        return_scores=True,
        return_no_speech_prob=True,
        suppress_blank=True,
        suppress_tokens=tokenizer.suppress_tokens(),
        max_initial_timestamp_index=50,
        **kwargs,
    )[0]
    return result.sequences_ids[0], result.scores[0], result.no_speech_prob


@pytest.mark.parametrize("beam, timestamps", [(5, False), pytest.param(1, True, marks=pytest.mark.slow), (3, True)])
def test_search_matches_ctranslate2(tiny_model, tokenizer, clip_audio, peer, beam, timestamps):
    runner = TorchRunner(tiny_model)
    prompt = tokenizer.sot_sequence(without_timestamps=not timestamps)
    options = SearchOptions(beam_size=beam, timestamps=timestamps)
    for name in CLIPS:
        samples = clip_audio[name]
        mel = whole_mel(samples)
        ours = search(runner, runner.audio_context(window(mel, 0, mel.shape[1] - 1)), [prompt], 0, tokenizer, options)[
            0
        ]
        tokens, score, no_speech = _peer_generate(
            peer, samples, prompt, tokenizer, beam_size=beam, patience=1.0, length_penalty=1.0
        )
        assert ours.tokens == tokens, (name, ours.tokens, tokens)
        assert abs(ours.avg_logprob - score * len(tokens) / (len(tokens) + 1)) < 1e-3
        assert abs(ours.no_speech_prob - no_speech) < 1e-4


@pytest.mark.slow
def test_patience_and_length_penalty_follow_ctranslate2(tiny_model, tokenizer, clip_audio, peer):
    runner = TorchRunner(tiny_model)
    prompt = tokenizer.sot_sequence()
    samples = clip_audio["sentence_24.flac"]
    mel = whole_mel(samples)
    context = runner.audio_context(window(mel, 0, mel.shape[1] - 1))
    for patience, penalty in ((2.0, 1.0), (0.5, 0.0), (1.0, 2.0)):
        ours = search(
            runner,
            context,
            [prompt],
            0,
            tokenizer,
            SearchOptions(beam_size=4, patience=patience, length_penalty=penalty),
        )[0]
        tokens, _, _ = _peer_generate(
            peer, samples, prompt, tokenizer, beam_size=4, patience=patience, length_penalty=penalty
        )
        assert ours.tokens == tokens, (patience, penalty)


def test_batch_of_eight_mixed_lengths_equals_singles(tiny_model, tokenizer, data_dir):
    """Rows of 0.2 s ... 29 s (silence included) finish at different steps and leave the batch; beam 2 with
    timestamps, so segments, seeking and the early exits are all exercised."""
    names = [
        "long_29s.flac",
        "short_0p2s.flac",
        "sentence_00.flac",
        "silence_5s.flac",
        "sentence_23.flac",
        "sentence_07.flac",
        "noise_floor_3s.flac",
        "sentence_16.flac",
    ]
    runner = TorchRunner(tiny_model)
    options = TranscribeOptions(search=SearchOptions(beam_size=2, timestamps=True))
    paths = [data_dir / n for n in names]
    batched = transcribe_files(runner, tokenizer, paths, options, batch_size=8)
    singles = [transcribe_files(runner, tokenizer, [p], options, batch_size=1)[0] for p in paths]
    assert [r["tokens"] for r in batched] == [r["tokens"] for r in singles]
    assert [r["segments"] for r in batched] == [r["segments"] for r in singles]
    assert batched[0]["segments"][-1]["end"] > 20  # the 29 s clip really has several segments


def test_split_segments_matches_faster_whisper():
    split = faster_whisper.transcribe.WhisperModel._split_segments_by_timestamps
    host = type("Host", (), {"time_precision": 0.02, "input_stride": 2})()
    tokenizer = type("Tok", (), {"timestamp_begin": 50364})()
    b = 50364
    cases = [
        [b, 1, 2, b + 50, b + 50, 3, b + 120],
        [b, 1, 2, b + 50, b + 60, 3, 4],
        [1, 2, 3],
        [b, 1, 2, b + 80],
        [b + 10, 5, b + 40, b + 40, 6, b + 90, b + 90],
    ]
    for tokens in cases:
        expected, seek, _ = split(host, tokenizer, tokens, 12.0, 2500, 25.0, 1200)
        ours, our_seek = split_segments(tokens, b, 12.0, 1200, 2500)
        assert our_seek == seek
        assert [(round(s, 6), round(e, 6), t) for s, e, t in ours] == [
            (round(x["start"], 6), round(x["end"], 6), x["tokens"]) for x in expected
        ]


def test_compression_ratio_matches_faster_whisper():
    for text in ["", "beep " * 60, "Please turn off the lights in the kitchen."]:
        expected = faster_whisper.transcribe.get_compression_ratio(text) if text else 0.0
        assert compression_ratio(text) == pytest.approx(expected)


def test_fallback_walks_the_temperatures(tiny_model, tokenizer, clip_audio):
    """log_prob_threshold 0 fails every attempt: each temperature is tried (best of 3 samples above 0) and the
    kept result is the attempt with the best avg_logprob; seeded sampling gives a batch its singles' tokens."""
    from models.whisper.fallback import FallbackOptions

    fallback = FallbackOptions(temperatures=(0.0, 0.5, 1.0), log_prob_threshold=0.0, no_speech_threshold=None)
    options = TranscribeOptions(search=SearchOptions(best_of=3), fallback=fallback, seed=7)
    runner = TorchRunner(tiny_model)
    samples = [clip_audio["sentence_00.flac"], clip_audio["short_0p2s.flac"]]
    batched = transcribe_files(runner, tokenizer, samples, options, batch_size=2)
    singles = [transcribe_files(runner, tokenizer, [s], options, batch_size=1)[0] for s in samples]
    assert [r["tokens"] for r in batched] == [r["tokens"] for r in singles]
    assert all(r["temperature"] == 1.0 for r in batched)
    greedy = transcribe_files(runner, tokenizer, samples[:1], TranscribeOptions())[0]
    assert batched[0]["avg_logprob"] >= greedy["avg_logprob"] - 1e-6  # the greedy attempt was a candidate
