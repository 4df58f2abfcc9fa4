"""T3 (GPU): every plugin's enqueue, driven through IPluginV3 by the harness on PyTorch CUDA tensors, against the
PyTorch references of trt_helper.plugins.<Name>.reference. Fresh random inputs each run; outputs are poisoned first so that every
element must be written. Tolerance: ‖out − ref‖/‖ref‖ ≤ 1e-5 (fp32), 1e-2 (fp16, bf16)."""

from __future__ import annotations

import math

import pytest
import torch

from trt_helper import rel_error
from trt_helper.plugins import (
    AttMaskedSoftmax,
    FMoEExpert,
    LayerNorm,
    MaskConv2dSubsample,
    MaskedFill,
    RelPositionalEncoding,
    SoftmaxTopK,
    harness_enqueue,
)
from trt_helper.plugins.common import pad_mask

pytestmark = pytest.mark.gpu

TOL = {torch.float32: 1e-5, torch.float16: 1e-2, torch.bfloat16: 1e-2}
DTYPES = [torch.float32, torch.float16, torch.bfloat16]
IDS = ["fp32", "fp16", "bf16"]
POISON_INT = -7777


def poisoned(shape, dtype, device):
    if dtype.is_floating_point:
        return torch.full(shape, float("nan"), dtype=dtype, device=device)
    return torch.full(shape, POISON_INT, dtype=dtype, device=device)


def randn(shape, dtype, device, gen, scale=1.0):
    return (torch.randn(shape, generator=gen, dtype=torch.float64) * scale).to(dtype).to(device)


def lengths_for(batch, time, gen, device):
    """Lengths covering 0, 1 and full, then random values in [0, time]."""
    fixed = [0, 1, time][:batch]
    rand = torch.randint(0, time + 1, (batch - len(fixed),), generator=gen).tolist()
    return torch.tensor(fixed + rand, dtype=torch.int32, device=device)


def run(lib, name, fields, inputs, outputs):
    plugin = lib.create(name, fields, "build", f"test_{name}")
    assert plugin is not None
    status = harness_enqueue(plugin, inputs, outputs)
    torch.cuda.synchronize()
    return status


def check(got, want, dtype, what=""):
    assert not torch.isnan(got).any(), f"{what}: unwritten (NaN-poisoned) or NaN elements"
    err = rel_error(got.cpu(), want.cpu(), "l2")
    assert err <= TOL[dtype], f"{what}: relative error {err:.3g} > {TOL[dtype]}"


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("shape", [(8, 17, 512), (3, 5, 1024), (2, 7, 64), (4, 3, 1000), (1, 3, 4096), (5, 1, 7)])
def test_layer_norm(lib, cuda, gen, dtype, shape):
    x = randn(shape, dtype, cuda, gen, 3.0) + 2.0
    gamma = randn(shape[-1:], dtype, cuda, gen)
    beta = randn(shape[-1:], dtype, cuda, gen)
    eps = float(torch.rand((), generator=gen)) * 1e-2 + 1e-6
    y = poisoned(shape, dtype, cuda)
    assert run(lib, "LayerNorm", {"eps": eps}, [x, gamma, beta], [y]) == 0
    check(y, LayerNorm.reference(x.cpu(), gamma.cpu(), beta.cpu(), eps), dtype, f"LayerNorm {shape}")


def test_layer_norm_honours_eps(lib, cuda, gen):
    x = randn((4, 64), torch.float32, cuda, gen) * 1e-3  # variance ~1e-6: eps = 1e-2 dominates
    gamma, beta = torch.ones(64, device=cuda), torch.zeros(64, device=cuda)
    y = poisoned((4, 64), torch.float32, cuda)
    assert run(lib, "LayerNorm", {"eps": 1e-2}, [x, gamma, beta], [y]) == 0
    check(y, LayerNorm.reference(x.cpu(), gamma.cpu(), beta.cpu(), 1e-2), torch.float32)
    assert y.abs().max() < 0.1


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("shape", [(8, 2, 5, 1024), (3, 3, 7, 37), (4, 1, 4, 2048), (2, 2, 3, 8), (5, 1, 3, 256)])
def test_att_masked_softmax(lib, cuda, gen, dtype, shape):
    scores = randn(shape, dtype, cuda, gen, 4.0)
    lengths = lengths_for(shape[0], shape[-1], gen, cuda)
    scale = 1.0 / math.sqrt(64)
    y = poisoned(shape, dtype, cuda)
    assert run(lib, "AttMaskedSoftmax", {"scale": scale}, [scores, lengths], [y]) == 0
    want = AttMaskedSoftmax.reference(scores.cpu(), lengths.cpu(), scale)
    check(y, want, dtype, f"AttMaskedSoftmax {shape}")
    keys = pad_mask(lengths.cpu(), shape[-1])
    padded = ~keys.view(shape[0], 1, 1, shape[-1]).expand(shape)
    assert (y.cpu()[padded] == 0).all(), "padded keys must be exactly 0"


def test_att_masked_softmax_clamps_lengths(lib, cuda, gen):
    scores = randn((3, 2, 4, 16), torch.float32, cuda, gen)
    lengths = torch.tensor([-5, 99, 16], dtype=torch.int32, device=cuda)
    y = poisoned(scores.shape, torch.float32, cuda)
    assert run(lib, "AttMaskedSoftmax", {"scale": 1.0}, [scores, lengths], [y]) == 0
    check(y, AttMaskedSoftmax.reference(scores.cpu(), lengths.clamp(0, 16).cpu(), 1.0), torch.float32)


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("layout", [0, 1], ids=["BCT", "BTC"])
@pytest.mark.parametrize("shape", [(8, 16, 40), (3, 5, 7), (2, 64, 33)])
def test_masked_fill(lib, cuda, gen, dtype, layout, shape):
    x = randn(shape, dtype, cuda, gen)
    time = shape[2] if layout == 0 else shape[1]
    lengths = lengths_for(shape[0], time, gen, cuda)
    fill = float(torch.randn((), generator=gen)) * 10
    y = poisoned(shape, dtype, cuda)
    assert run(lib, "MaskedFill", {"fill": fill, "layout": layout}, [x, lengths], [y]) == 0
    want = MaskedFill.reference(x.cpu(), lengths.cpu(), fill, layout).to(dtype)
    assert torch.equal(y.cpu(), want), "masked fill must be exact"


@pytest.mark.parametrize("factor", [4, 6, 8])
def test_subsample_lengths(lib, cuda, gen, factor):
    lengths = torch.cat([torch.arange(0, 20), torch.randint(0, 5000, (45,), generator=gen)]).to(torch.int32)
    lengths = lengths.to(cuda)
    out = poisoned(lengths.shape, torch.int32, cuda)
    assert run(lib, "MaskConv2dSubsample", {"factor": factor}, [lengths], [out]) == 0
    assert torch.equal(out.cpu(), MaskConv2dSubsample.reference(lengths.cpu(), factor))


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("shape", [(8, 50, 512), (3, 7, 20), (1, 5000, 64)])
def test_rel_positional_encoding(lib, cuda, gen, dtype, shape):
    b, t, d = shape
    x = randn(shape, dtype, cuda, gen)
    pe = RelPositionalEncoding.sinusoid_table(5000, d).to(dtype).to(cuda)
    y = poisoned(shape, dtype, cuda)
    pos = poisoned((1, t, d), dtype, cuda)
    scale = math.sqrt(d)
    assert run(lib, "RelPositionalEncoding", {"scale": scale}, [x, pe], [y, pos]) == 0
    want_y, want_pos = RelPositionalEncoding.reference(x.cpu(), pe.cpu(), scale)
    check(y, want_y, dtype, "x * scale")
    assert torch.equal(pos.cpu(), want_pos.to(dtype)), "pos_emb must be an exact copy of pe[:, :T]"


def test_rel_positional_encoding_rejects_long_input(lib, cuda, gen, harness):
    x = randn((1, 41, 8), torch.float32, cuda, gen)
    pe = RelPositionalEncoding.sinusoid_table(40, 8).float().to(cuda)
    plugin = lib.create("RelPositionalEncoding", {"scale": 1.0})
    y, pos = poisoned((1, 41, 8), torch.float32, cuda), poisoned((1, 41, 8), torch.float32, cuda)
    harness.take_log()
    assert harness_enqueue(plugin, [x, pe], [y, pos]) != 0
    assert any("max_len" in m for _, m in harness.take_log())


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("shape", [(8, 33, 32), (3, 5, 7), (1, 4, 300)])
def test_router_top1(lib, cuda, gen, dtype, shape):
    logits = randn(shape, dtype, cuda, gen, 3.0)
    lengths = lengths_for(shape[0], shape[1], gen, cuda)
    value = poisoned(shape[:2] + (1,), dtype, cuda)
    index = poisoned(shape[:2] + (1,), torch.int32, cuda)
    assert run(lib, "SoftmaxTopK", {}, [logits, lengths], [value, index]) == 0
    want_value, want_index = SoftmaxTopK.reference(logits.cpu(), lengths.cpu())
    check(value, want_value, dtype, "top-1 value")
    assert torch.equal(index.cpu(), want_index), "top-1 index"


def fmoe_inputs(shape, experts, hidden, dtype, device, gen, with_score, with_lengths):
    b, t, d = shape
    x = randn(shape, dtype, device, gen)
    idx = torch.randint(0, experts, (b, t), generator=gen, dtype=torch.int32).to(device)
    w1 = randn((experts, hidden, d), dtype, device, gen, 1 / math.sqrt(d))
    b1 = randn((experts, hidden), dtype, device, gen, 0.1)
    w2 = randn((experts, d, hidden), dtype, device, gen, 1 / math.sqrt(hidden))
    b2 = randn((experts, d), dtype, device, gen, 0.1)
    score = torch.rand((b, t), generator=gen, dtype=torch.float64).to(dtype).to(device) if with_score else None
    lengths = lengths_for(b, t, gen, device) if with_lengths else None
    return x, idx, score, lengths, w1, b1, w2, b2


def fmoe_plugin_inputs(x, idx, score, lengths, w1, b1, w2, b2):
    return [t for t in (x, idx, score, lengths, w1, b1, w2, b2) if t is not None]


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("act", [0, 1, 2], ids=["swish", "relu", "gelu"])
@pytest.mark.parametrize(
    "case",
    [
        ((8, 33, 64), 5, 128, True, True),
        ((3, 5, 24), 7, 40, False, True),
        ((2, 16, 64), 3, 96, True, False),
        ((1, 1, 8), 2, 16, False, False),
    ],
    ids=["score+len", "len-odd", "score", "one-token"],
)
def test_fmoe_expert(lib, cuda, gen, dtype, act, case):
    shape, experts, hidden, with_score, with_lengths = case
    x, idx, score, lengths, w1, b1, w2, b2 = fmoe_inputs(
        shape, experts, hidden, dtype, cuda, gen, with_score, with_lengths
    )
    fields = {
        "num_experts": experts,
        "hidden": hidden,
        "act": act,
        "has_score": int(with_score),
        "has_lengths": int(with_lengths),
    }
    y = poisoned(shape, dtype, cuda)
    assert run(lib, "FMoEExpert", fields, fmoe_plugin_inputs(x, idx, score, lengths, w1, b1, w2, b2), [y]) == 0
    cpu = lambda t: None if t is None else t.cpu()
    want = FMoEExpert.reference(
        x.cpu(),
        idx.cpu(),
        w1.cpu(),
        b1.cpu(),
        w2.cpu(),
        b2.cpu(),
        act,
        cpu(score),
        cpu(lengths),
        round_hidden=None if dtype == torch.float32 else dtype,
    )
    check(y, want, dtype, f"FMoEExpert {shape}")
    if lengths is not None:
        padded = ~pad_mask(lengths.cpu(), shape[1])
        assert (y.cpu()[padded] == 0).all(), "padded tokens must give exactly 0"


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
def test_fmoe_out_of_range_expert_ids_give_nan_rows(lib, cuda, gen, dtype):
    """Ids outside [0, E) are never used as addresses: their rows are NaN, the others exact. Enqueue cannot report
    them (that would need a host wait), so it returns 0. (16-bit types on Hopper: the scatter writes these rows, as
    GEMM2 stores the routed ones itself.)"""
    shape, experts, hidden = (2, 9, 16), 4, 32
    x, idx, _, _, w1, b1, w2, b2 = fmoe_inputs(shape, experts, hidden, dtype, cuda, gen, False, False)
    idx[0, 3] = experts
    idx[1, 5] = -1
    idx[1, 6] = 1 << 30
    y = torch.zeros(shape, dtype=dtype, device=cuda)  # the NaNs must come from the plugin
    status = run(lib, "FMoEExpert", {"num_experts": experts, "hidden": hidden, "act": 0}, [x, idx, w1, b1, w2, b2], [y])
    assert status == 0
    bad = torch.zeros(shape[:2], dtype=torch.bool)
    bad[0, 3] = bad[1, 5] = bad[1, 6] = True
    assert torch.isnan(y.cpu()[bad]).all()
    good_idx = idx.cpu().clone()
    good_idx[bad] = 0
    round_hidden = None if dtype == torch.float32 else dtype
    want = FMoEExpert.reference(x.cpu(), good_idx, w1.cpu(), b1.cpu(), w2.cpu(), b2.cpu(), 0, round_hidden=round_hidden)
    check(y.cpu()[~bad], want[~bad], dtype, "rows of valid ids")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16], ids=["fp32", "fp16"])
def test_fmoe_expert_skewed_routing(lib, cuda, gen, dtype):
    """Most tokens on one expert, the others with a few rows or none."""
    shape, experts, hidden = (8, 40, 32), 8, 64
    x, idx, score, lengths, w1, b1, w2, b2 = fmoe_inputs(shape, experts, hidden, dtype, cuda, gen, True, True)
    idx = torch.where(torch.rand(idx.shape, generator=gen).to(cuda) < 0.9, torch.full_like(idx, 2), idx)
    fields = {"num_experts": experts, "hidden": hidden, "act": 0, "has_score": 1, "has_lengths": 1}
    y = poisoned(shape, dtype, cuda)
    assert run(lib, "FMoEExpert", fields, [x, idx, score, lengths, w1, b1, w2, b2], [y]) == 0
    want = FMoEExpert.reference(
        x.cpu(),
        idx.cpu(),
        w1.cpu(),
        b1.cpu(),
        w2.cpu(),
        b2.cpu(),
        0,
        score.cpu(),
        lengths.cpu(),
        round_hidden=None if dtype == torch.float32 else dtype,
    )
    check(y, want, dtype, "FMoEExpert skewed")
