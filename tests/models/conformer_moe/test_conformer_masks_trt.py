"""The helper ops this port uses for lengths and masks (addMaskConv2dSubsample, addAttMaskedSoftmax) against the
model's own PyTorch functions, on every length and on random lengths."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import trt_helper
from models.conformer_moe.masks import masked_softmax, subsampled_lengths


def test_subsampled_lengths_network_matches_formula_for_every_length():
    lengths = torch.arange(0, 6101, dtype=torch.int32)
    helper = trt_helper.NetworkHelper(torch.float32, name="lengths")
    x = helper.addInput("lengths", torch.int32, (-1,), min_shape=(1,), opt_shape=(6101,), max_shape=(6101,))
    helper.markOutput(helper.addMaskConv2dSubsample(x, 4, impl="native"), "out")
    out = helper.reference({"lengths": lengths})["out"]
    expected = torch.tensor([max(0, ((n - 1) // 2 - 1) // 2) if n else 0 for n in range(6101)], dtype=torch.int32)
    assert torch.equal(out, expected) and torch.equal(out, subsampled_lengths(lengths).int())


@settings(max_examples=15, deadline=None)
@given(batch=st.integers(1, 4), frames=st.integers(1, 40), data=st.data())
def test_masked_softmax_network_matches_pytorch(batch, frames, data):
    lengths = torch.tensor(
        data.draw(st.lists(st.integers(0, frames), min_size=batch, max_size=batch)), dtype=torch.int32
    )
    scores = torch.randn(batch, 3, frames, frames, generator=torch.Generator().manual_seed(frames)) * 5
    helper = trt_helper.NetworkHelper(torch.float32, name="softmax")
    s = helper.addInput(
        "scores",
        torch.float32,
        (-1, 3, -1, -1),
        min_shape=(1, 3, 1, 1),
        opt_shape=(2, 3, 20, 20),
        max_shape=(4, 3, 40, 40),
    )
    n = helper.addInput("lengths", torch.int32, (-1,), min_shape=(1,), opt_shape=(2,), max_shape=(4,))
    helper.markOutput(helper.addAttMaskedSoftmax(s, n, 0.25, impl="native"), "probs")
    probs = helper.reference({"scores": scores, "lengths": lengths})["probs"]
    torch.testing.assert_close(probs, masked_softmax(scores * 0.25, lengths), rtol=1e-6, atol=1e-7)
    assert torch.isfinite(probs).all()
