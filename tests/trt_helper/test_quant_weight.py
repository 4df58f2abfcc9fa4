"""trt_helper.quant.weight: round-to-nearest int8/int4 weights against direct formulas, INT4 packing against ONNX."""

import numpy as np
import onnx
import pytest
import torch
from onnx import helper as onnx_helper

from trt_helper.quant import pack_int4, quantize_weight, unpack_int4


@pytest.mark.parametrize("bits,group_size", [(8, None), (8, 64), (4, None), (4, 32), (4, 128)])
def test_round_to_nearest(gen, bits, group_size):
    w = torch.randn(48, 256, generator=gen)
    qw = quantize_weight(w, bits, group_size)
    qmax = 127 if bits == 8 else 7
    blocks = w.unflatten(1, (-1, group_size or 256))
    want_scales = blocks.abs().amax(2) / qmax
    assert torch.allclose(qw.scales, want_scales if group_size else want_scales[:, 0], rtol=0, atol=0)
    assert qw.values.dtype == torch.int8 and qw.values.abs().max() <= qmax
    # every element within half a step of its scale; each block's largest element exact
    assert ((qw.dequantize() - w).abs() <= qw.expanded_scales() / 2 + 1e-7).all()
    assert qw.values.abs().amax(1).eq(qmax).all()


@pytest.mark.parametrize("bits,group_size", [(4, 32), (4, 128), (8, 64)])
def test_asymmetric_blocks_round_to_the_nearest_level(gen, bits, group_size):
    w = torch.randn(16, 256, generator=gen) + torch.rand(16, 1, generator=gen)  # blocks not centred on 0
    qw = quantize_weight(w, bits, group_size, asymmetric=True)
    levels = 2**bits
    blocks = w.unflatten(1, (-1, group_size))
    low, high = blocks.amin(2, keepdim=True), blocks.amax(2, keepdim=True)
    grid = low + (high - low) / (levels - 1) * torch.arange(levels)  # (N, G, levels): every level of each block
    distance = (blocks[..., None] - grid[:, :, None, :]).abs()  # brute force over the levels
    chosen = qw.values.unflatten(1, (-1, group_size)).long() + levels // 2
    # a nearest level (up to float32 rounding of the grid: exact ties go either way)
    assert (distance.gather(3, chosen[..., None])[..., 0] <= distance.amin(-1) + 1e-5).all()
    assert torch.allclose(qw.dequantize(), grid.gather(2, chosen).flatten(1), rtol=0, atol=1e-5)
    assert qw.offsets is not None and qw.nbytes() == w.numel() * bits // 8 + 2 * 2 * qw.scales.numel()


def test_asymmetric_needs_blocks():
    with pytest.raises(ValueError, match=r"asymmetric weights need a group_size \(block offsets\), weight \(8, 64\)"):
        quantize_weight(torch.ones(8, 64), 4, None, asymmetric=True)


def test_ties_round_to_even():
    w = torch.tensor([[2.5, 3.5, -0.5, 127.0]])  # scale 1: ties go to the even integer
    assert quantize_weight(w, 8).values.tolist() == [[2, 4, 0, 127]]


def test_all_zero_block_keeps_positive_scale():
    w = torch.zeros(2, 64)
    w[1, 32:] = 1.0
    qw = quantize_weight(w, 4, 32)
    assert (qw.scales > 0).all() and torch.equal(qw.dequantize(), w)


def test_int4_packing_matches_onnx(gen):
    values = torch.randint(-8, 8, (3, 7), generator=gen, dtype=torch.int8)  # odd count: last byte half used
    tensor = onnx_helper.make_tensor("w", onnx.TensorProto.INT4, [3, 7], values.numpy().astype(np.int32))
    assert pack_int4(values).tolist() == list(tensor.int32_data)
    assert torch.equal(unpack_int4(pack_int4(values), values.numel()).reshape(3, 7), values)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(bits=3), "bits=3 is not supported (8 or 4) for weight (8, 64)"),
        (dict(bits=4, group_size=48), "group_size=48 is not supported"),
        (dict(bits=4, group_size=128), "K=64 of weight (8, 64) is not divisible by group_size=128"),
    ],
)
def test_bad_spec(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        quantize_weight(torch.ones(8, 64), **kwargs)


def test_non_finite_weight():
    w = torch.ones(4, 32)
    w[2, 5] = float("nan")
    with pytest.raises(ValueError, match=r"weight \(4, 32\) has a non-finite value at \[2, 5\]"):
        quantize_weight(w, 8)
