"""Bad and unusual input end to end: each gets a defined result or a clear error.

| input | result |
|---|---|
| empty / corrupt / zero-frame file | AudioError naming the file (CLI: an "error" line, exit status 1) |
| silence | "" with "no_speech": true (openai / faster-whisper no-speech rule; see test_whisper_transcripts) |
| > 30 s | LongAudioError naming the duration; with long_audio="chunk", consecutive 30 s windows |
| 8 kHz / 44.1 kHz | resampled to 16 kHz: the transcript of the 16 kHz original |
| stereo | channels averaged: the transcript of the mono original |
"""

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from models.whisper.audio import SAMPLE_RATE
from models.whisper.decoding import LongAudioError, TorchRunner, transcribe


def test_long_audio_is_an_error_unless_chunked(tiny_model, tokenizer, clip_audio):
    pause = np.zeros(2 * SAMPLE_RATE, np.float32)
    long_audio = np.concatenate([clip_audio["long_29s.flac"], pause, clip_audio["sentence_01.flac"]])
    runner = TorchRunner(tiny_model)
    with pytest.raises(LongAudioError, match=r"input 0: 33\.54 s is longer than Whisper's 30 s window"):
        transcribe(runner, tokenizer, [long_audio])
    chunked = transcribe(runner, tokenizer, [long_audio], long_audio="chunk")[0]
    first, second = transcribe(runner, tokenizer, [long_audio[: 30 * SAMPLE_RATE], long_audio[30 * SAMPLE_RATE :]])
    assert chunked["tokens"] == first["tokens"] + second["tokens"]
    assert "call me back tomorrow morning" in second["text"]


@pytest.mark.parametrize(
    "converted, original",
    [
        ("rate_8k.wav", "sentence_07.flac"),
        ("rate_44k1.flac", "sentence_10.flac"),
        ("stereo_16k.flac", "sentence_04.flac"),
    ],
)
def test_converted_clips_transcribe_like_their_originals(converted, original, torch_decoded):
    assert torch_decoded[converted].tokens == torch_decoded[original].tokens


def _infer(args, repo, timeout=600):
    done = subprocess.run(
        [sys.executable, "-m", "models.whisper.infer", *args], cwd=repo, capture_output=True, text=True, timeout=timeout
    )
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines()], done.stderr


def test_infer_command_prints_json_and_reports_bad_files(tmp_path, data_dir, torch_decoded, tokenizer):
    repo = data_dir.parents[2]
    empty, corrupt, long_path = tmp_path / "empty.wav", tmp_path / "corrupt.flac", tmp_path / "long.wav"
    empty.write_bytes(b"")
    corrupt.write_bytes(b"fLaC" + bytes(300))
    soundfile.write(long_path, np.zeros(31 * SAMPLE_RATE, np.float32), SAMPLE_RATE)
    files = [
        str(data_dir / "sentence_02.flac"),
        str(empty),
        str(corrupt),
        str(long_path),
        str(data_dir / "silence_5s.flac"),
        str(data_dir / "stereo_16k.flac"),
    ]
    status, lines, stderr = _infer(["--backend", "torch", "--batch", "2", *files], repo)
    assert status == 1, stderr
    assert [line["audio"] for line in lines] == files and {line["backend"] for line in lines} == {"torch"}
    assert lines[0]["tokens"] == torch_decoded["sentence_02.flac"].tokens
    assert lines[0]["text"] == tokenizer.decode(lines[0]["tokens"]).strip()
    assert "empty file (0 bytes)" in lines[1]["error"] and "empty.wav" in lines[1]["error"]
    assert "not a readable audio file" in lines[2]["error"] and "corrupt.flac" in lines[2]["error"]
    assert "long.wav: 31.00 s is longer than Whisper's 30 s window" in lines[3]["error"]
    assert lines[4]["text"] == "" and lines[4]["no_speech"] is True
    assert lines[5]["tokens"] == torch_decoded["stereo_16k.flac"].tokens


def test_infer_reference_backend_through_infer_sh(data_dir, torch_decoded):
    repo = data_dir.parents[2]
    done = subprocess.run(
        ["sh", "infer.sh", "whisper", "--backend", "reference", str(data_dir / "sentence_00.flac")],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    line = json.loads(done.stdout)
    assert line["backend"] == "reference" and line["tokens"] == torch_decoded["sentence_00.flac"].tokens


def test_infer_trt_backend_without_plans_says_why(tmp_path, data_dir):
    status, _, stderr = _infer(
        ["--backend", "trt", "--plans", str(tmp_path), str(data_dir / "sentence_00.flac")], data_dir.parents[2]
    )
    assert status != 0
    assert "--backend trt:" in stderr and ("missing plans" in stderr or "CUDA" in stderr)
