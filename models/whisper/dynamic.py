"""Dynamic encoder length: run the encoder on the real mel frames (+ a 50-frame pad) instead of a 30 s window.

Official Whisper checkpoints were trained on 3000-frame windows only (openai asserts the shape), so the encoder
on fewer frames is an approximation: positions past the audio simply do not exist, and the decoder attends over
S = frames / 2 positions instead of 1500. The heuristic keeps 50 zero frames (0.5 s) after the content, rounded
up to an even count and capped at 3000 (`dynamic_frames`). What it costs in WER and saves in encoder time is
measured by benchmarks/whisper_dynamic.py (models/whisper/README.md).

The window a runner receives is the 3000-frame window of models.whisper.long_form (content, then exact zeros);
the content length is recovered as the last frame that is not all zeros, and a batch is cut to its longest row.
"""

import torch
import torch.nn.functional as F

from .audio import HOP_LENGTH, N_FRAMES, SAMPLE_RATE
from .decoding import TorchRunner
from .networks import DTYPES, NetworkRunner, Profile, _helper, cross_kv_network, decoder_network

PAD_FRAMES = 50


def dynamic_frames(content_frames, n_frames=3000, pad=PAD_FRAMES):
    """Frames the encoder runs on: content + pad, even, in [2, n_frames]."""
    frames = min(n_frames, max(2, content_frames + pad))
    return frames + frames % 2 if frames < n_frames else n_frames


def clip_frames(seconds, pad=PAD_FRAMES):
    """dynamic_frames of a clip of `seconds` alone in its window (one mel frame per hop): what trim gives it."""
    return dynamic_frames(round(seconds * SAMPLE_RATE) // HOP_LENGTH, N_FRAMES, pad)


def content_frames(mel):
    """Frames up to the last one that is not all zeros, per row of mel (B, n_mels, T)."""
    nonzero = (mel != 0).any(dim=1)  # (B, T)
    positions = torch.arange(1, mel.shape[-1] + 1)
    return (nonzero * positions).amax(dim=1)


def trim(mel, pad=PAD_FRAMES):
    """mel (B, n_mels, 3000) cut to dynamic_frames of its longest row."""
    return mel[..., : dynamic_frames(int(content_frames(mel).max()), mel.shape[-1], pad)]


def encode(encoder, mel):
    """AudioEncoder.forward on mel (B, n_mels, F), F even <= 2 * n_ctx: positional embedding cut to F / 2."""
    if mel.dim() != 3 or mel.shape[1] != encoder.n_mels or mel.shape[2] % 2 or mel.shape[2] > 2 * encoder.n_ctx:
        raise ValueError(
            f"dynamic encode: mel must be (B, {encoder.n_mels}, F) with F even <= {2 * encoder.n_ctx}, "
            f"got {tuple(mel.shape)}"
        )
    x = F.gelu(encoder.conv1(mel))
    x = F.gelu(encoder.conv2(x)).transpose(1, 2)
    x = x + encoder.positional_embedding[: x.shape[1]].to(x.dtype)
    for block in encoder.blocks:
        x = block(x)
    return encoder.ln_post(x)


class DynamicTorchRunner(TorchRunner):
    """TorchRunner whose encoder runs on the trimmed window."""

    name = "torch-dynamic"

    @torch.no_grad()
    def audio_context(self, mel):
        features = encode(self.model.encoder, trim(mel).to(self.device, self.dtype))
        return self.model.decoder.cross_kv(features)


def encoder_network(model, dtype=torch.float32, profile=Profile(), frames=(100, 1000, 3000)):
    """mel (B, n_mels, F) float32, F dynamic in `frames` (min, opt, max; even) -> audio_features (B, F / 2, D)."""
    encoder, dims = model.encoder, model.dims
    helper = _helper("whisper_encoder_dynamic", dtype, model)
    lo, opt, hi = profile.batch((dims.n_mels, frames[0]), (dims.n_mels, frames[1]), (dims.n_mels, frames[2]))
    mel = helper.addInput("mel", torch.float32, (-1, dims.n_mels, -1), min_shape=lo, opt_shape=opt, max_shape=hi)
    x = helper.addGELU(helper(encoder.conv1, helper.addCast(mel, dtype, name="mel_cast")), name="conv1_gelu")
    x = helper.addTranspose(helper.addGELU(helper(encoder.conv2, x), name="conv2_gelu"), 1, 2, name="to_time_major")
    length = helper.addShapeOf(x, 1, name="positions")
    table = helper.addConstant(encoder.positional_embedding, name="positional_table")
    positions = helper.addSlice(table, 0, 0, length, name="positional_embedding")
    x = helper.addAdd(x, helper.addUnsqueeze(positions, 0), name="add_positions")
    for block in encoder.blocks:
        x = helper(block, x)
    helper.markOutput(helper(encoder.ln_post, x), "audio_features")
    return helper


class DynamicReferenceRunner(NetworkRunner):
    """The dynamic-length encoder, cross_kv and decoder networks through trt_helper's reference executor."""

    def __init__(self, model, dtype=torch.float32, use_cache=True, device="cpu", profile=Profile()):
        audio = (50, 500, model.dims.n_audio_ctx)
        self.networks = {
            "encoder": encoder_network(model, dtype, profile, tuple(2 * a for a in audio)),
            "cross_kv": cross_kv_network(model, dtype, profile, audio_range=audio),
            "decoder": decoder_network(model, dtype, profile, cache=False, audio_range=audio),
        }
        if use_cache:
            self.networks["decoder_step"] = decoder_network(model, dtype, profile, cache=True, audio_range=audio)
        calls = {
            name: (lambda inputs, h=helper: h.reference(inputs, device=device))
            for name, helper in self.networks.items()
        }
        super().__init__(calls, dtype, use_cache, name="reference-dynamic", device=device)

    def audio_context(self, mel):
        return super().audio_context(trim(mel))


__all__ = [
    "DTYPES",
    "PAD_FRAMES",
    "dynamic_frames",
    "clip_frames",
    "content_frames",
    "trim",
    "encode",
    "DynamicTorchRunner",
    "encoder_network",
    "DynamicReferenceRunner",
]
