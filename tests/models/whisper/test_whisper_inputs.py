"""Bad and unusual input end to end: each gets a defined result or a clear error.

| input | result |
|---|---|
| empty / corrupt / zero-frame file | AudioError naming the file (CLI: an "error" line, exit status 1) |
| silence | "" with "no_speech": true (openai / faster-whisper no-speech rule; see test_whisper_transcripts) |
| > 30 s | LongAudioError naming the duration; with long_audio="chunk", consecutive 30 s windows |
| 8 kHz / 44.1 kHz | resampled to 16 kHz: the transcript of the 16 kHz original |
| stereo | channels averaged: the transcript of the mono original |
| more decoder rows than the plans' max batch | refused before decoding, naming both numbers |
"""

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from models.whisper.audio import SAMPLE_RATE
from models.whisper.decoding import LongAudioError, TorchRunner, transcribe
from models.whisper.dims import ModelDimensions
from models.whisper.infer import check_plan_batch, decode_rows, parse_args


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


@pytest.mark.parametrize(
    "argv, files, rows",
    [
        (["--batch", "8", "--beam-size", "5"], 3, (3, 5)),  # fewer files than --batch
        (["--batch", "2", "--beam-size", "4"], 3, (2, 4)),
        (["--batch", "4", "--long-audio", "chunk"], 1, (4, 1)),  # one long file's chunks share a batch
        (["--batch", "2", "--temperature-fallback", "--best-of", "3"], 2, (2, 3)),  # samples above T = 0
        (["--batch", "2", "--temperature-fallback", "--beam-size", "5", "--best-of", "3"], 2, (2, 5)),
    ],
)
def test_decode_rows(argv, files, rows):
    assert decode_rows(parse_args([*argv, *(f"f{i}.wav" for i in range(files))])) == rows


def test_plan_batch_check_names_both_numbers():
    args = parse_args(["--batch", "2", "--beam-size", "4", "a.wav", "b.wav"])
    check_plan_batch(args, 8, "m.json")  # 8 rows fit
    check_plan_batch(args, None, "m.json")  # no max batch recorded: nothing to check
    with pytest.raises(ValueError, match=r"needs 8 rows .* at most 7 .*pass --batch 1"):
        check_plan_batch(args, 7, "m.json")
    with pytest.raises(ValueError, match=r"at most 3 .*lower --beam-size to <= 3"):
        check_plan_batch(args, 3, "m.json")


def test_infer_trt_refuses_more_rows_than_the_plans_take_before_decoding(tmp_path, data_dir):
    manifest = {"dims": ModelDimensions.preset("tiny.en").as_dict(), "max_batch": 8, "plans": {}}
    (tmp_path / "whisper_plans.json").write_text(json.dumps(manifest))
    files = [str(data_dir / f"sentence_0{i}.flac") for i in range(3)]
    status, lines, stderr = _infer(
        ["--backend", "trt", "--plans", str(tmp_path), "--batch", "3", "--beam-size", "3", *files], data_dir.parents[2]
    )
    assert status != 0 and lines == []
    assert "--backend trt:" in stderr and "needs 9 rows" in stderr and "at most 8" in stderr, stderr
