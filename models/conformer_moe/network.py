"""Fill a NetworkHelper with the conformer-MoE encoder: inputs, profile, outputs.

The network takes ``feat`` (B,T,F) float32 and ``feat_len`` (B,) int32 — the original engine's inputs, with
lengths as a vector rather than (1,B) — and returns ``logits`` (B,T′,V) float32 and ``out_len`` (B,) int32.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .encoder import ConformerMoEEncoder
from .masks import MIN_FRAMES

PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16}


@dataclass(frozen=True)
class Profile:
    """One optimization profile over (batch, frames); F comes from the config.

    The minimum is 7 frames, not 1: fewer frames leave no frame after Conv2dSubsampling4 (the second
    convolution's output size would be negative), so TensorRT rejects them at ``set_input_shape`` with the
    profile's bounds instead of failing inside the engine.
    """

    min_batch: int = 1
    min_frames: int = 7
    opt_batch: int = 1
    opt_frames: int = 206
    max_batch: int = 6
    max_frames: int = 6100

    @classmethod
    def parse(cls, text: str) -> Profile:
        """``"1x7:1x206:6x6100"`` (min:opt:max, each BxT)."""
        try:
            parts = [tuple(int(v) for v in part.split("x")) for part in text.split(":")]
            (b0, t0), (b1, t1), (b2, t2) = parts
        except ValueError:
            raise ValueError(
                f"profile {text!r}: expected MINBxMINT:OPTBxOPTT:MAXBxMAXT, e.g. 1x7:1x206:6x6100"
            ) from None
        profile = cls(b0, t0, b1, t1, b2, t2)
        if not (1 <= b0 <= b1 <= b2 and MIN_FRAMES <= t0 <= t1 <= t2):
            raise ValueError(
                f"profile {text!r}: need 1 <= min <= opt <= max batch and {MIN_FRAMES} <= min <= opt <= max frames"
            )
        return profile

    def __str__(self):
        return ":".join(
            f"{b}x{t}"
            for b, t in (
                (self.min_batch, self.min_frames),
                (self.opt_batch, self.opt_frames),
                (self.max_batch, self.max_frames),
            )
        )


def define_network(helper, model: ConformerMoEEncoder, profile: Profile = Profile()):
    """Add the encoder to ``helper`` (its dtype is the compute precision, its ``impl`` picks native or plugin
    layers); returns (logits, out_len)."""
    config = model.config
    frames_after = ((profile.max_frames - 1) // 2 - 1) // 2
    if frames_after > config.max_len:
        raise ValueError(
            f"ConformerMoEEncoder({config.name}): profile max {profile.max_frames} frames gives "
            f"{frames_after} subsampled frames, more than the positional table's {config.max_len}"
        )
    f = config.input_dim
    feat = helper.addInput(
        "feat",
        torch.float32,
        (-1, -1, f),
        min_shape=(profile.min_batch, profile.min_frames, f),
        opt_shape=(profile.opt_batch, profile.opt_frames, f),
        max_shape=(profile.max_batch, profile.max_frames, f),
    )
    feat_len = helper.addInput(
        "feat_len",
        torch.int32,
        (-1,),
        min_shape=(profile.min_batch,),
        opt_shape=(profile.opt_batch,),
        max_shape=(profile.max_batch,),
    )
    logits, out_len = helper(model, helper.addCast(feat, helper.dtype, name="feat_cast"), feat_len)
    logits = helper.markOutput(helper.addCast(logits, torch.float32, name="logits_fp32"), "logits")
    out_len = helper.markOutput(out_len, "out_len")
    return logits, out_len
