"""Dynamic encoder length: frame heuristic, the dynamic-length networks (reference executor) against our PyTorch
dynamic encoder (max rel err <= 1e-4), and that the window's content length is found exactly."""

import torch

from models.whisper.dynamic import (
    DynamicReferenceRunner,
    DynamicTorchRunner,
    clip_frames,
    content_frames,
    dynamic_frames,
    trim,
)
from models.whisper.long_form import whole_mel, window
from trt_helper import rel_error


def test_dynamic_frames_heuristic():
    assert [dynamic_frames(n) for n in (0, 1, 20, 21, 2949, 2950, 2951, 3000)] == [
        50,
        52,
        70,
        72,
        3000,
        3000,
        3000,
        3000,
    ]


def test_content_length_of_windows(clip_audio):
    for name in ("short_0p2s.flac", "sentence_00.flac", "long_29s.flac"):
        mel = whole_mel(clip_audio[name])
        content = mel.shape[1] - 1
        assert int(content_frames(window(mel, 0, content))[0]) == content
        assert trim(window(mel, 0, content)).shape[-1] == dynamic_frames(content)


def test_clip_frames_from_duration_match_trim(manifest, clip_audio):
    """The GPU benchmark's frame counts come from the manifest's durations: they must be what trim gives."""
    for clip in manifest:
        mel = whole_mel(clip_audio[clip["file"]])
        assert clip_frames(clip["duration"]) == trim(window(mel, 0, min(3000, mel.shape[1] - 1))).shape[-1], clip


def test_dynamic_networks_match_torch(tiny_model, clip_audio):
    mel = whole_mel(clip_audio["short_0p2s.flac"])
    windows = torch.cat([window(mel, 0, mel.shape[1] - 1), window(whole_mel(clip_audio["sentence_00.flac"]), 0, 100)])
    ours = DynamicTorchRunner(tiny_model).audio_context(windows)
    networks = DynamicReferenceRunner(tiny_model, use_cache=False)
    reference = networks.audio_context(windows)
    assert ours[0].shape == (4, 2, dynamic_frames(100) // 2, 384)
    assert max(rel_error(a, b) for a, b in zip(reference, ours)) <= 1e-4
    tokens = torch.tensor([[50257, 50362]] * 2)
    logits = networks.prefix(reference, tokens)[0]  # the decoder network on S = 75 cross positions
    with torch.no_grad():
        expected = tiny_model.decoder(tokens, *ours)[0][:, -1]
    assert rel_error(logits, expected) <= 1e-4
