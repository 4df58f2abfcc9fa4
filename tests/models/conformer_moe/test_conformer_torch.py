"""The PyTorch conformer-MoE modules against independent references (formulas, torch ops, loops)."""

import math

import pytest
import torch
from torch import nn

from models.conformer_moe import build_model, get_config
from models.conformer_moe.attention import RelPositionMultiHeadedAttention
from models.conformer_moe.convolution import ConvolutionModule
from models.conformer_moe.feed_forward import PositionwiseFeedForward
from models.conformer_moe.masks import masked_softmax, subsampled_lengths
from models.conformer_moe.moe import MoEFeedForward
from models.conformer_moe.positional import sinusoidal_table
from trt_helper import rel_error

torch.set_grad_enabled(False)


def test_subsampled_lengths_match_wenet_mask_slicing():
    # WeNet (PR #1602): mask[:, :, 2::2][:, :, 2::2]; its sum is the subsampled length.
    for length in range(1, 300):
        mask = torch.ones(1, 1, length, dtype=torch.bool)
        expected = int(mask[:, :, 2::2][:, :, 2::2].sum())
        assert int(subsampled_lengths(torch.tensor([length]))) == expected, length


def test_subsampled_length_equals_conv_output_frames():
    model = build_model("small")
    for frames in (7, 8, 9, 10, 11, 57, 206):
        out, lengths = model.subsampling(torch.randn(1, frames, 80), torch.tensor([frames]))
        # conv output size with kernel 3, stride 2, no padding: floor((n - 3) / 2) + 1, twice
        expected = ((frames - 3) // 2 + 1 - 3) // 2 + 1
        assert out.shape[1] == expected == int(lengths[0])


def test_masked_softmax_equals_softmax_over_valid_keys():
    scores = torch.randn(3, 2, 5, 9) * 4
    lengths = torch.tensor([9, 4, 0])
    probs = masked_softmax(scores, lengths)
    for b, n in enumerate(lengths.tolist()):
        if n:
            torch.testing.assert_close(probs[b, ..., :n], torch.softmax(scores[b, ..., :n], -1), rtol=1e-6, atol=1e-7)
        assert torch.equal(probs[b, ..., n:], torch.zeros_like(probs[b, ..., n:]))
    assert torch.isfinite(probs).all()


def test_sinusoidal_table_formula():
    d = 8
    pe = sinusoidal_table(50, d)[0]
    for pos in (0, 1, 7, 49):
        for i in range(d // 2):
            angle = pos / 10000 ** (2 * i / d)
            assert math.isclose(pe[pos, 2 * i], math.sin(angle), abs_tol=1e-5)
            assert math.isclose(pe[pos, 2 * i + 1], math.cos(angle), abs_tol=1e-5)


def test_relpos_encoding_scales_and_slices():
    model = build_model("small")
    x = torch.randn(2, 13, 64)
    scaled, pos = model.pos_enc(x)
    torch.testing.assert_close(scaled, x * 8.0)
    torch.testing.assert_close(pos, sinusoidal_table(5000, 64)[:, :13])


def test_rel_attention_matches_sdpa_on_concatenated_heads():
    # ((q+u)kᵀ + (q+v)pᵀ)/√d_k = [q+u, q+v]·[k, p]ᵀ/√d_k: one SDPA call with 2·d_k wide heads.
    torch.manual_seed(0)
    heads, d = 4, 32
    attn = RelPositionMultiHeadedAttention(heads, d)
    x, pos_emb = torch.randn(3, 11, d), torch.randn(1, 11, d)
    lengths = torch.tensor([11, 6, 1])
    dk = d // heads

    def split(t):
        return t.view(t.shape[0], t.shape[1], heads, dk).transpose(1, 2)

    q, k, v = split(attn.linear_q(x)), split(attn.linear_k(x)), split(attn.linear_v(x))
    p = split(attn.linear_pos(pos_emb)).expand(3, -1, -1, -1)
    u, w = attn.pos_bias_u[None, :, None], attn.pos_bias_v[None, :, None]
    key_ok = (torch.arange(11)[None] < lengths[:, None])[:, None, None, :]
    ctx = nn.functional.scaled_dot_product_attention(
        torch.cat([q + u, q + w], -1), torch.cat([k, p], -1), v, attn_mask=key_ok, scale=1 / math.sqrt(dk)
    )
    expected = attn.linear_out(ctx.transpose(1, 2).reshape(3, 11, d))
    assert rel_error(attn(x, lengths, pos_emb), expected, "l2") < 1e-5


def test_conv_module_ignores_padded_frames_and_zeroes_them():
    # The padded utterance's valid frames equal it run alone (the depthwise conv's own zero padding), whatever
    # the padding holds: pointwise_conv1's bias must not reach the depthwise conv through the padded frames.
    torch.manual_seed(0)
    conv = ConvolutionModule(16, 15)
    x = torch.randn(2, 30, 16)
    lengths = torch.tensor([30, 17])
    y = conv(x, lengths)
    noisy = x.clone()
    noisy[1, 17:] = 1e3 * torch.randn(13, 16)
    torch.testing.assert_close(conv(noisy, lengths), y)
    assert rel_error(y[1, :17], conv(x[1:, :17], lengths[1:])[0]) < 1e-5
    assert torch.equal(y[1, 17:], torch.zeros(13, 16))


def per_token_moe(moe: MoEFeedForward, x, embed):
    """A literal per-token loop over the 3m-asr router and FastMoE experts."""
    out = torch.empty_like(x)
    w1, b1 = moe.experts.w_1.weight, moe.experts.w_1.bias
    w2, b2 = moe.experts.w_2.weight, moe.experts.w_2.bias
    for b in range(x.shape[0]):
        for t in range(x.shape[1]):
            logits = torch.cat([embed[b, t], x[b, t]]) @ moe.router_weights
            if moe.router_bias is not None:
                logits = logits + moe.router_bias
            probs = torch.exp(logits - logits.max())
            probs = probs / probs.sum()
            e = int(torch.argmax(probs))
            hidden = nn.functional.silu(w1[e] @ x[b, t] + b1[e])
            out[b, t] = probs[e] * (w2[e] @ hidden + b2[e])
    return out


@pytest.mark.parametrize("router_bias", [False, True])
def test_moe_dispatch_matches_per_token_loop(router_bias):
    torch.manual_seed(1)
    moe = MoEFeedForward(16, 16, num_experts=5, hidden=24, router_bias=router_bias)
    if router_bias:
        moe.router_bias.data.normal_()
    moe.router_weights.data.normal_()  # spread tokens over all experts
    x, embed = torch.randn(4, 16, 16), torch.randn(4, 16, 16)
    assert len(set(moe.route(x, embed)[1].flatten().tolist())) == 5
    assert rel_error(moe(x, embed), per_token_moe(moe, x, embed), "l2") < 1e-5


def test_single_expert_moe_is_the_dense_ffn():
    # E = 1: the softmax gate is exactly 1, so the MoE is one PositionwiseFeedForward.
    torch.manual_seed(2)
    moe = MoEFeedForward(16, 16, num_experts=1, hidden=24)
    dense = PositionwiseFeedForward(16, 24)
    dense.w_1.weight.copy_(moe.experts.w_1.weight[0])
    dense.w_1.bias.copy_(moe.experts.w_1.bias[0])
    dense.w_2.weight.copy_(moe.experts.w_2.weight[0])
    dense.w_2.bias.copy_(moe.experts.w_2.bias[0])
    x = torch.randn(2, 7, 16)
    assert rel_error(moe(x, torch.randn(2, 7, 16)), dense(x), "l2") < 1e-6


def test_encoder_batch_rows_are_independent():
    model = build_model("small")
    feats = torch.randn(3, 64, 80)
    lens = torch.tensor([64, 64, 64], dtype=torch.int32)
    batched, out_len = model(feats, lens)
    for b in range(3):
        alone, _ = model(feats[b : b + 1], lens[b : b + 1])
        assert rel_error(batched[b], alone[0], "l2") < 1e-5
    assert out_len.dtype == torch.int32 and out_len.tolist() == [15] * 3


def test_encoder_output_shape_and_seeded_init():
    a, b, c = build_model("small", seed=3), build_model("small", seed=3), build_model("small", seed=4)
    for (name, pa), pb, _pc in zip(a.state_dict().items(), b.state_dict().values(), c.state_dict().values()):
        assert torch.equal(pa, pb), name
    assert not torch.equal(a.blocks[0].feed_forward.experts.w_1.weight, c.blocks[0].feed_forward.experts.w_1.weight)
    logits, out_len = a(torch.randn(2, 206, 80), torch.tensor([206, 100]))
    assert logits.shape == (2, 50, get_config("small").vocab) and out_len.tolist() == [50, 24]


@pytest.mark.parametrize(
    "feat, lens, words",
    [
        (torch.randn(2, 30, 40), torch.tensor([30, 30]), "(B, T, 80)"),
        (torch.randn(2, 5, 80), torch.tensor([5, 5]), "at least 7"),
        (torch.randn(2, 30, 80), torch.tensor([30, 6]), "[7, 30]"),
        (torch.randn(2, 30, 80), torch.tensor([30, 31]), "[7, 30]"),
        (torch.randn(2, 30, 80), torch.tensor([30]), "shape (2,)"),
        (torch.randn(2, 30, 80), torch.tensor([30.0, 30.0]), "integer"),
    ],
)
def test_bad_input_names_the_module_and_shapes(feat, lens, words):
    model = build_model("small")
    with pytest.raises(ValueError, match="ConformerMoEEncoder") as err:
        model(feat, lens)
    assert words in str(err.value)


def test_trtexec_input_files_are_raw_arrays(tmp_path):
    import numpy as np

    from benchmarks.generate_trtexec_inputs import trtexec_line, write_inputs

    feat_path, len_path = write_inputs(2, 206, 40, str(tmp_path), lengths=[206, 100], seed=5)
    feat = np.fromfile(feat_path, dtype="<f4")
    assert feat.size == 2 * 206 * 40
    np.testing.assert_array_equal(
        feat.reshape(2, 206, 40), np.random.default_rng(5).standard_normal((2, 206, 40), dtype=np.float32)
    )
    np.testing.assert_array_equal(np.fromfile(len_path, dtype="<i4"), [206, 100])
    line = trtexec_line("m.plan", 2, 206, 40, feat_path, len_path)
    assert f"--shapes=feat:2x206x40,feat_len:2 --loadInputs=feat:{feat_path},feat_len:{len_path}" in line
    with pytest.raises(ValueError, match="generate_trtexec_inputs"):
        write_inputs(2, 10, 40, str(tmp_path), lengths=[10, 11])
