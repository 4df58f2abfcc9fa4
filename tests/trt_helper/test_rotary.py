"""addRotaryTables / addRotaryEmbedding vs Hugging Face's Llama rotary code (transformers' own functions)."""

import pytest
import torch
from op_harness import check_op, randn, spec

import trt_helper

rope = pytest.importorskip("transformers.models.llama.modeling_llama")


def hf_rope(x, positions, inv_freq, rotary_dim):
    """transformers' apply_rotary_pos_emb on the first rotary_dim features (the rest pass through)."""
    freqs = positions[..., None].float() * inv_freq
    emb = torch.cat([freqs, freqs], -1)
    emb = emb if emb.dim() == 3 else emb[None]  # (B or 1, T, R); HF unsqueezes the heads dim
    rotated, _ = rope.apply_rotary_pos_emb(x[..., :rotary_dim], x[..., :rotary_dim], emb.cos(), emb.sin())
    return torch.cat([rotated, x[..., rotary_dim:]], -1)


@pytest.mark.parametrize(
    "rotary_dim,per_row", [(16, False), (16, True), (8, False)], ids=["full", "per_row", "partial"]
)
def test_rotary(dtype, gen, tmp_path, rotary_dim, per_row):
    """x (B, H, T, 16); positions (T,) shared by the batch or (B, T) per row (as with left padding)."""
    inv_freq = 1e4 ** -(torch.arange(0, rotary_dim, 2).float() / rotary_dim)

    def make(h, x, positions):
        cos, sin = h.addRotaryTables(positions, inv_freq)
        cos, sin = (h.addUnsqueeze(t, 0 if not per_row else 1) for t in (cos, sin))
        if not per_row:
            cos, sin = (h.addUnsqueeze(t, 0) for t in (cos, sin))
        return h.addRotaryEmbedding(x, cos, sin)

    def reference(x, positions):
        return hf_rope(x, positions, inv_freq, rotary_dim)

    pos_shape = (2, 5) if per_row else (5,)
    sizes = []
    for batch, length in ((2, 5), (3, 9)):
        positions = torch.randint(0, 2000, (batch, length) if per_row else (length,), generator=gen, dtype=torch.int32)
        sizes.append({"x": randn(gen, batch, 3, length, 16), "positions": positions})
    specs = {
        "x": spec((2, 3, 5, 16), (0, 2)),
        "positions": spec(pos_shape, (0, 1) if per_row else (0,), dtype=torch.int32),
    }
    check_op(dtype, specs, make, reference, sizes, tmp_path, tol=1e-5 if dtype == torch.float32 else 2e-2)


def test_rotary_errors():
    helper = trt_helper.NetworkHelper(torch.float32, name="net")
    x = helper.addInput("x", torch.float32, (1, 2, 4, 16))
    odd = helper.addInput("odd", torch.float32, (1, 1, 4, 7))
    with pytest.raises(ValueError, match=r"addRotaryEmbedding at 'net'.*\(1, 2, 4, 16\).*\(1, 1, 4, 7\)"):
        helper.addRotaryEmbedding(x, odd, odd)
    with pytest.raises(TypeError, match=r"addRotaryTables at 'net': positions must be int32/int64"):
        helper.addRotaryTables(x, torch.ones(8))
