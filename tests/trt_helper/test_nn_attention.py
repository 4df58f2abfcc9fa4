"""addAttention vs scaled_dot_product_attention; MultiheadAttention by helper(module, ...) vs torch."""

import pytest
import torch
import torch.nn.functional as F
from nn_harness import dyn_spec
from op_harness import check_op, randn
from torch import nn

from trt_helper import NetworkHelper


def _qkv_specs(b, h, hkv, t, s, d):
    return {
        "q": dyn_spec((b, h, t, d), {0: 1, 2: 1}),
        "k": dyn_spec((b, hkv, s, d), {0: 1, 2: 1}),
        "v": dyn_spec((b, hkv, s, d), {0: 1, 2: 1}),
    }


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
@pytest.mark.parametrize("kv_heads", [4, 2])
def test_attention(dtype, gen, tmp_path, kv_heads, fused):
    sizes = [
        {"q": randn(gen, 2, 4, 5, 8), "k": randn(gen, 2, kv_heads, 7, 8), "v": randn(gen, 2, kv_heads, 7, 8)},
        {"q": randn(gen, 1, 4, 9, 8), "k": randn(gen, 1, kv_heads, 9, 8), "v": randn(gen, 1, kv_heads, 9, 8)},
    ]

    def make(h, q, k, v):
        return [h.addAttention(q, k, v, fused=fused), h.addAttention(q, k, v, causal=True, scale=0.3, fused=fused)]

    def want(q, k, v):
        return [
            F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
            F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.3, enable_gqa=True),
        ]

    check_op(
        dtype,
        _qkv_specs(2, 4, kv_heads, 5, 7, 8),
        make,
        want,
        sizes,
        tmp_path if kv_heads == 2 and (fused or dtype == torch.float16) else None,
    )


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
def test_attention_masks(dtype, gen, tmp_path, fused):
    """A bool mask (True = attend) with causal, and a floating mask added to the scores."""
    specs = _qkv_specs(2, 2, 2, 5, 5, 4) | {
        "m": dyn_spec((2, 1, 5, 5), {0: 1, 2: 1, 3: 1}, dtype=torch.bool),
        "f": dyn_spec((2, 1, 5, 5), {0: 1, 2: 1, 3: 1}),
    }
    sizes = []
    for b, t in ((2, 5), (3, 8)):
        allowed = torch.rand(b, 1, t, t, generator=gen) > 0.3
        allowed[..., 0] = True  # no fully masked row
        sizes.append(
            {
                "q": randn(gen, b, 2, t, 4),
                "k": randn(gen, b, 2, t, 4),
                "v": randn(gen, b, 2, t, 4),
                "m": allowed,
                "f": randn(gen, b, 1, t, t),
            }
        )

    def make(h, q, k, v, m, f):
        return [h.addAttention(q, k, v, mask=m, causal=True, fused=fused), h.addAttention(q, k, v, mask=f, fused=fused)]

    def want(q, k, v, m, f):
        causal = torch.ones(m.shape[-2:], dtype=torch.bool).tril()
        return [
            F.scaled_dot_product_attention(q, k, v, attn_mask=m & causal),
            F.scaled_dot_product_attention(q, k, v, attn_mask=f),
        ]

    check_op(dtype, specs, make, want, sizes, None)


def test_fused_masked_attention_builds(gen, tmp_path):
    """One masked attention layer builds (fp16). Two masked attention layers in one network crash TensorRT-RTX
    1.7's builder (segmentation fault), so addAttention picks the composed form for masks unless fused=True."""
    specs = _qkv_specs(2, 2, 2, 5, 5, 4) | {"m": dyn_spec((2, 1, 5, 5), {0: 1, 2: 1, 3: 1}, dtype=torch.bool)}
    allowed = torch.rand(2, 1, 5, 5, generator=gen) > 0.3
    allowed[..., 0] = True
    sizes = [{"q": randn(gen, 2, 2, 5, 4), "k": randn(gen, 2, 2, 5, 4), "v": randn(gen, 2, 2, 5, 4), "m": allowed}]
    helper = check_op(
        torch.float16,
        specs,
        lambda h, q, k, v, m: h.addAttention(q, k, v, mask=m, fused=True),
        lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
        sizes,
        tmp_path,
    )
    kinds = {helper.network.get_layer(i).type.name for i in range(helper.network.num_layers)}
    assert "ATTENTION_INPUT" in kinds


def _mha(gen, **kw):
    module = nn.MultiheadAttention(16, 4, **kw).eval()
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0, 0.3, generator=gen)
    return module


@pytest.mark.parametrize("batch_first", [True, False])
def test_multihead_attention(dtype, gen, tmp_path, batch_first):
    """Self-attention with a key padding mask and a causal float attn_mask; cross-attention with kdim/vdim, no
    bias, per-head weights."""
    self_attn, cross = (
        _mha(gen, batch_first=batch_first),
        _mha(gen, batch_first=batch_first, kdim=6, vdim=10, bias=False),
    )
    lead = (lambda b, t: (b, t)) if batch_first else (lambda b, t: (t, b))
    specs = {
        "x": dyn_spec(lead(2, 5) + (16,), {0: 1, 1: 1}),
        "pad": dyn_spec((2, 5), {0: 1, 1: 1}, dtype=torch.bool),
        "kk": dyn_spec(lead(2, 3) + (6,), {0: 1, 1: 1}),
        "vv": dyn_spec(lead(2, 3) + (10,), {0: 1, 1: 1}),
    }
    sizes = []
    for b, t, s in ((2, 5, 3), (3, 7, 4)):
        pad = torch.zeros(b, t, dtype=torch.bool)
        pad[0, t - 2 :] = True
        sizes.append(
            {
                "x": randn(gen, *lead(b, t), 16),
                "pad": pad,
                "kk": randn(gen, *lead(b, s), 6),
                "vv": randn(gen, *lead(b, s), 10),
            }
        )

    def make(h, x, pad, kk, vv):
        out, weights = h(self_attn, x, x, x, key_padding_mask=pad, is_causal=True)
        cross_out, cross_weights = h(cross, x, kk, vv, average_attn_weights=False)
        return [out, weights, cross_out, cross_weights]

    def want(x, pad, kk, vv):
        t = pad.shape[1]
        causal = torch.full((t, t), float("-inf")).triu(1)
        with torch.no_grad():
            out, weights = self_attn(x, x, x, key_padding_mask=pad, attn_mask=causal)
            cross_out, cross_weights = cross(x, kk, vv, average_attn_weights=False)
        return [out, weights, cross_out, cross_weights]

    check_op(dtype, specs, make, want, sizes, tmp_path if dtype == torch.float16 and batch_first else None)


def test_multihead_attention_masks(dtype, gen, tmp_path):
    """A per-(batch·head) bool attn_mask with a float key padding mask; a constant (torch) attn_mask."""
    module = _mha(gen, batch_first=True)
    constant_mask = torch.rand(5, 5, generator=gen) > 0.7
    constant_mask.fill_diagonal_(False)
    specs = {
        "x": dyn_spec((2, 5, 16), {0: 1}),
        "m": dyn_spec((8, 5, 5), {0: 1}, dtype=torch.bool),
        "pad": dyn_spec((2, 5), {0: 1}),
    }
    sizes = []
    for b in (2, 3):
        m = torch.rand(b * 4, 5, 5, generator=gen) > 0.6
        m[..., 0] = False
        sizes.append({"x": randn(gen, b, 5, 16), "m": m, "pad": randn(gen, b, 5)})

    def make(h, x, m, pad):
        return [
            h(module, x, x, x, key_padding_mask=pad, attn_mask=m, need_weights=False)[0],
            h(module, x, x, x, attn_mask=constant_mask)[0],
        ]

    def want(x, m, pad):
        with torch.no_grad():
            return [
                module(x, x, x, key_padding_mask=pad, attn_mask=m, need_weights=False)[0],
                module(x, x, x, attn_mask=constant_mask)[0],
            ]

    check_op(dtype, specs, make, want, sizes, None)


def test_multihead_attention_errors():
    helper = NetworkHelper(torch.float32, name="net")
    x = helper.addInput("x", torch.float32, (2, 5, 16))
    with pytest.raises(ValueError, match=r"add_bias_kv=True, add_zero_attn=False\) is not supported"):
        helper(nn.MultiheadAttention(16, 4, add_bias_kv=True), x, x, x)
    with pytest.raises(ValueError, match="8 features in dim 2, the module expects 16"):
        helper(nn.MultiheadAttention(16, 4), x, x, helper.addSlice(x, 2, 0, 8))
