"""Load and save conformer-MoE weights under 3m-asr/WeNet state-dict key names.

A 3m-asr checkpoint of the joint CTC/attention model (``conformer_aed_moe_catEmbed``) holds
``encoder.<key>`` for the encoder and ``decoder.<key>`` for the attention decoder; a bare encoder
checkpoint holds ``<key>``. Expert tensors are stored merged over workers (``state_dict_comm``):
``blocks.N.feed_forward.experts.w_1.weight`` is (E_total, H, D). No public checkpoint exists, so these
names come from reading tencent-ailab/3m-asr ``trainer/`` (see research/conformer_moe.md §2).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import torch

from .encoder import ConformerMoEEncoder

ENCODER_PREFIX = "encoder."
IGNORED_PREFIXES = ("decoder.", "ctc.", "criterion_att.")
"""Parts of the joint model that the encoder port does not use."""
IGNORED_KEYS = ("pos_enc.pe", "embed.pos_enc.pe")
"""Positional tables some WeNet versions save; ours is rebuilt from the formula."""


def _unwrap(state: Mapping) -> Mapping:
    for wrapper in ("model", "state_dict"):
        if wrapper in state and isinstance(state[wrapper], Mapping):
            return state[wrapper]
    return state


def load_3m_asr_state_dict(
    model: ConformerMoEEncoder,
    state: Mapping[str, torch.Tensor] | str | os.PathLike,
) -> list[str]:
    """Copy a 3m-asr/WeNet state dict (or a ``torch.save`` file of one) into ``model``.

    Accepts keys with or without the ``encoder.`` prefix; decoder/CTC-criterion keys are skipped.
    Tensors are cast to the model's dtype. Raises ``ValueError`` naming the key for a missing key,
    an unknown key or a shape mismatch. Returns the skipped keys.
    """
    if not isinstance(state, Mapping):
        state = torch.load(state, map_location="cpu", weights_only=True)
    state = _unwrap(state)
    own = model.state_dict()
    loaded, skipped = {}, []
    for key, tensor in state.items():
        name = key[len(ENCODER_PREFIX) :] if key.startswith(ENCODER_PREFIX) else key
        if key.startswith(IGNORED_PREFIXES) or name in IGNORED_KEYS:
            skipped.append(key)
            continue
        if name not in own:
            raise ValueError(
                f"ConformerMoEEncoder({model.config.name}): checkpoint key {key!r} has no place in the model"
            )
        if tuple(tensor.shape) != tuple(own[name].shape):
            raise ValueError(
                f"ConformerMoEEncoder({model.config.name}): {key!r} has shape {tuple(tensor.shape)}, "
                f"the model expects {tuple(own[name].shape)}"
            )
        loaded[name] = tensor
    missing = sorted(set(own) - set(loaded))
    if missing:
        shown = ", ".join(missing[:5]) + (f" … ({len(missing)} in all)" if len(missing) > 5 else "")
        raise ValueError(f"ConformerMoEEncoder({model.config.name}): checkpoint lacks {shown}")
    model.load_state_dict(loaded, strict=True)
    return skipped


def save_state_dict(model: ConformerMoEEncoder, path: str | os.PathLike, prefix: str = ENCODER_PREFIX) -> None:
    """``torch.save`` the model's weights under 3m-asr names (``encoder.``-prefixed by default)."""
    torch.save({prefix + k: v.detach().cpu() for k, v in model.state_dict().items()}, path)
