"""IAttention, rotary embedding, KV-cache update and MoE layers built with the raw API, against PyTorch
(``scaled_dot_product_attention`` with scale 1, a rotate-half RoPE, slicing, and a per-token expert loop)."""

import pytest
import torch
import torch.nn.functional as F

import trt_helper


@pytest.fixture
def helper():
    return trt_helper.NetworkHelper(torch.float32)


def _attention(helper, shapes, causal="NONE"):
    trt = helper.trt
    q, k, v = (helper.addInput(name, torch.float32, shape) for name, shape in zip("qkv", shapes))
    return helper.network.add_attention_v2(
        q, k, v, trt.AttentionNormalizationOp.SOFTMAX, getattr(trt.CausalMaskKind, causal)
    )


@pytest.mark.parametrize("causal", ["NONE", "UPPER_LEFT", "LOWER_RIGHT"])
def test_attention_gqa_causal_or_bool_mask(helper, causal):
    """4 query heads share 2 key/value heads; 3 queries against 5 keys; without a causal mask, a bool mask hides
    key 1 (TensorRT takes no mask on a causal attention)."""
    attention = _attention(helper, [(2, 4, 3, 8), (2, 2, 5, 8), (2, 2, 5, 8)], causal)
    q, k, v = torch.randn(2, 4, 3, 8), torch.randn(2, 2, 5, 8), torch.randn(2, 2, 5, 8)
    feeds = {"q": q, "k": k, "v": v}
    keep = torch.ones(1, 1, 3, 5, dtype=torch.bool)
    if causal == "NONE":
        attention.mask = helper.addInput("mask", torch.bool, (1, 1, 3, 5))
        keep[..., 1] = False
        feeds["mask"] = keep
    else:
        keep &= torch.ones(3, 5, dtype=torch.bool).tril(2 if causal == "LOWER_RIGHT" else 0)
    helper.markOutput(attention.get_output(0), "y")
    got = helper.reference(feeds)["y"]
    want = F.scaled_dot_product_attention(
        q, k.repeat_interleave(2, 1), v.repeat_interleave(2, 1), attn_mask=keep, scale=1.0
    )
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_attention_packed_query_and_keys(helper):
    """Packed [tokens, heads, dim] tensors with cumulative lengths equal padded attention per sequence."""
    trt = helper.trt
    attention = _attention(helper, [(5, 2, 4), (7, 2, 4), (7, 2, 4)])
    attention.query_form = trt.AttentionIOForm.PACKED_NHD
    attention.key_value_form = trt.AttentionIOForm.PACKED_NHD
    attention.query_lengths = helper.addInput("q_lengths", torch.int32, (3,))
    attention.key_value_lengths = helper.addInput("kv_lengths", torch.int32, (3,))
    helper.markOutput(attention.get_output(0), "y")
    q, k, v = torch.randn(5, 2, 4), torch.randn(7, 2, 4), torch.randn(7, 2, 4)
    q_cum, kv_cum = torch.tensor([0, 2, 5], dtype=torch.int32), torch.tensor([0, 3, 7], dtype=torch.int32)
    got = helper.reference({"q": q, "k": k, "v": v, "q_lengths": q_cum, "kv_lengths": kv_cum})["y"]
    for b in range(2):
        qs, ks = slice(q_cum[b], q_cum[b + 1]), slice(kv_cum[b], kv_cum[b + 1])
        want = F.scaled_dot_product_attention(*(t.transpose(0, 1) for t in (q[qs], k[ks], v[ks])), scale=1.0)
        torch.testing.assert_close(got[qs], want.transpose(0, 1), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("interleaved", [False, True])
def test_rotary_embedding_with_position_ids(helper, interleaved):
    """RoPE on the first 4 of 6 features, cos/sin looked up by position id."""
    x = helper.addInput("x", torch.float32, (1, 2, 3, 6))
    cos, sin = helper.addInput("cos", torch.float32, (10, 2)), helper.addInput("sin", torch.float32, (10, 2))
    layer = helper.network.add_rotary_embedding(x, cos, sin, interleaved, 4)
    layer.set_input(3, helper.addInput("ids", torch.int32, (1, 3)))
    helper.markOutput(layer.get_output(0), "y")
    angles = torch.arange(10.0)[:, None] * torch.tensor([1.0, 0.1])
    xs, ids = torch.randn(1, 2, 3, 6), torch.tensor([[7, 0, 3]], dtype=torch.int32)
    got = helper.reference({"x": xs, "cos": angles.cos(), "sin": angles.sin(), "ids": ids})["y"]
    c, s = angles.cos()[ids.long()][:, None], angles.sin()[ids.long()][:, None]
    part = xs[..., :4]
    a, b = (part[..., 0::2], part[..., 1::2]) if interleaved else (part[..., :2], part[..., 2:])
    ra, rb = a * c - b * s, b * c + a * s
    rotated = torch.stack([ra, rb], -1).flatten(-2) if interleaved else torch.cat([ra, rb], -1)
    torch.testing.assert_close(got, torch.cat([rotated, xs[..., 4:]], -1), rtol=1e-6, atol=1e-6)


def test_kv_cache_update_writes_each_batch_at_its_index(helper):
    cache = helper.addInput("cache", torch.float32, (2, 1, 6, 3))
    update = helper.addInput("update", torch.float32, (2, 1, 2, 3))
    write = helper.addInput("write", torch.int32, (2,))
    layer = helper.network.add_kv_cache_update(cache, update, write, helper.trt.KVCacheMode.LINEAR)
    helper.markOutput(layer.get_output(0), "y")
    c, u = torch.randn(2, 1, 6, 3), torch.randn(2, 1, 2, 3)
    got = helper.reference({"cache": c, "update": u, "write": torch.tensor([4, 1], dtype=torch.int32)})["y"]
    want = c.clone()
    want[0, :, 4:6], want[1, :, 1:3] = u[0], u[1]
    assert torch.equal(got, want)


def test_moe_sums_the_selected_gated_experts(helper):
    trt = helper.trt
    hidden = helper.addInput("h", torch.float32, (1, 3, 4))
    experts = helper.addInput("experts", torch.int32, (1, 3, 2))
    scores = helper.addInput("scores", torch.float32, (1, 3, 2))
    layer = helper.network.add_moe(hidden, experts, scores)
    gate, up, down = torch.randn(3, 4, 5), torch.randn(3, 4, 5), torch.randn(3, 5, 4)
    layer.set_gated_weights(*(helper.addConstant(w) for w in (gate, up, down)), trt.MoEActType.SILU)
    helper.markOutput(layer.get_output(0), "y")
    h, chosen, weight = (
        torch.randn(1, 3, 4),
        torch.tensor([[[0, 2], [1, 0], [2, 1]]], dtype=torch.int32),
        torch.rand(1, 3, 2),
    )
    got = helper.reference({"h": h, "experts": chosen, "scores": weight})["y"]
    want = torch.zeros(1, 3, 4)
    for t in range(3):
        for e, w in zip(chosen[0, t].tolist(), weight[0, t]):
            want[0, t] += w * ((h[0, t] @ up[e]) * F.silu(h[0, t] @ gate[e])) @ down[e]
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
