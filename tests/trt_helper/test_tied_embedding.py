"""addTiedEmbedding / addTiedLogits: one (quantized) table for the lookup and the logits head, vs PyTorch."""

import pytest
import torch
from op_harness import TOLERANCE, randn
from torch import nn

import trt_helper
from trt_helper.quant import quantize_weight

VOCAB, DIM = 999, 128


def tied_network(dtype, module, weights="fp", group_size=None, quantized=None):
    """ids (B, T) int32 and x (B, T, D) → (embedding rows, logits), both cast to fp32."""
    helper = trt_helper.NetworkHelper(dtype, name="lm", weights=weights, group_size=group_size, quantized=quantized)
    helper.setModel(nn.ModuleDict({"embed": module}))
    ids = helper.addInput("ids", torch.int32, (-1, -1), min_shape=(1, 1), opt_shape=(2, 3), max_shape=(4, 16))
    dim = module.embedding_dim
    x = helper.addInput(
        "x", torch.float32, (-1, -1, dim), min_shape=(1, 1, dim), opt_shape=(2, 3, dim), max_shape=(4, 16, dim)
    )
    rows = helper.addTiedEmbedding(module, ids)
    logits = helper.addTiedLogits(module, helper.addCast(x, dtype))
    helper.markOutput(helper.addCast(rows, torch.float32), "rows")
    helper.markOutput(helper.addCast(logits, torch.float32), "logits")
    return helper


@pytest.mark.parametrize("weights,group_size", [("fp", None), ("int8", None), ("int8", 64), ("int4", 32)])
def test_tied_table(dtype, gen, tmp_path, weights, group_size):
    """Rows and logits equal table[ids] and x @ tableᵀ with the dequantized table (int8 in int4 networks too);
    int8 differs from fp. The odd vocabulary exercises the padding row (never looked up, its logit sliced off)."""
    module = nn.Embedding(VOCAB, DIM)
    bits = {"fp": None, "int8": 8, "int4": 4}[weights]
    table = module.weight.detach() if bits is None else quantize_weight(module.weight, 8, group_size).dequantize()
    table = table.to(dtype).float()
    helper = tied_network(dtype, module, weights, group_size)
    assert helper.build(tmp_path / "lm.plan").plan_bytes > 0
    for batch, length in ((2, 3), (4, 1)):
        ids = torch.randint(0, VOCAB, (batch, length), generator=gen, dtype=torch.int32)
        x = randn(gen, batch, length, DIM)
        got = helper.reference({"ids": ids, "x": x})
        for out, want in (("rows", table[ids.long()]), ("logits", x.to(dtype).float() @ table.T)):
            err = trt_helper.rel_error(got[out], want)
            assert err <= TOLERANCE[dtype], f"{out}: rel err {err:.3e} at ids {tuple(ids.shape)}"
    if weights == "int8" and dtype == torch.float32:
        err = trt_helper.rel_error(got["logits"], x @ module.weight.detach().T)
        assert 1e-5 < err < 2e-2, f"int8 vs fp: rel err {err:.3e}"


@pytest.mark.parametrize("vocab", [8192, 8191])
def test_given_table_and_one_copy(gen, tmp_path, vocab):
    """``quantized={path: ...}`` picks the table; each table is stored once (TensorRT-RTX 1.7.1 stores a quantized
    (V, D) table that feeds the gather and the matmul twice, and an odd table twice unless padded)."""
    module = nn.Embedding(vocab, 256)
    given = quantize_weight(module.weight, 8, 128)
    helper = tied_network(torch.float32, module, quantized={"embed": given})
    ids = torch.randint(0, vocab, (1, 2), generator=gen, dtype=torch.int32)
    rows = helper.reference({"ids": ids, "x": randn(gen, 1, 2, 256)})["rows"]
    assert torch.equal(rows, given.dequantize()[ids.long()])
    int4 = {"embed": quantize_weight(module.weight, 4, 128)}  # int4 only when given
    sizes = {
        name: tied_network(torch.float16, module, weights, quantized=quantized).build(tmp_path / "t.plan").plan_bytes
        for name, weights, quantized in (("fp", "fp", None), ("int8", "int8", None), ("int4", "fp", int4))
    }
    fp16_table = module.weight.numel() * 2
    assert sizes["fp"] <= 1.25 * fp16_table and sizes["int8"] <= 0.65 * fp16_table, sizes
    assert sizes["int4"] <= 0.4 * fp16_table, sizes


def test_none_keeps_fp(gen):
    """``quantized={path: None}`` keeps that table (or linear) in the network dtype under ``weights="int8"``."""
    module, head = nn.Embedding(VOCAB, DIM), nn.Linear(DIM, 16)
    helper = trt_helper.NetworkHelper(torch.float32, name="lm", weights="int8", quantized={"embed": None, "head": None})
    helper.setModel(nn.ModuleDict({"embed": module, "head": head}))
    ids = helper.addInput("ids", torch.int32, (1, 3))
    helper.markOutput(helper(head, helper.addTiedEmbedding(module, ids)), "out")
    tokens = torch.randint(0, VOCAB, (1, 3), generator=gen, dtype=torch.int32)
    want = head(module(tokens.long())).detach()
    assert trt_helper.rel_error(helper.reference({"ids": tokens})["out"], want) <= 1e-6


@pytest.mark.parametrize(
    "make,error,message",
    [
        (
            lambda h, m, ids, x: h.addTiedLogits(m, h.addConstant(torch.zeros(2, 64))),
            ValueError,
            "addTiedLogits at 'lm': x (2, 64) has 64 features, table 'embed' has 128",
        ),
        (
            lambda h, m, ids, x: h.addTiedEmbedding(m, x),
            TypeError,
            "addTiedEmbedding at 'lm': ids must be int32/int64, got torch.float32 (-1, -1)",
        ),
        (
            lambda h, m, ids, x: h.addTiedEmbedding(m, ids),
            ValueError,
            "addTiedEmbedding at 'lm': quantized table for 'embed' must be a plain (999, 128) weight, got (999, 128) "
            "with act_scale",
        ),
        (
            lambda h, m, ids, x: h.addTiedEmbedding(nn.Embedding(8, 128, max_norm=1.0), ids),
            ValueError,
            "addTiedEmbedding at 'lm': Embedding(max_norm=1.0) is not supported",
        ),
    ],
)
def test_tied_errors(make, error, message):
    module = nn.Embedding(VOCAB, DIM)
    given = quantize_weight(module.weight, 8)
    given.act_scale = 0.1
    helper = trt_helper.NetworkHelper(torch.float32, name="lm", quantized={"embed": given})
    helper.setModel(nn.ModuleDict({"embed": module}))
    ids = helper.addInput("ids", torch.int32, (-1, -1), min_shape=(1, 1), opt_shape=(1, 1), max_shape=(2, 2))
    x = helper.addInput("x", torch.float32, (-1, -1), min_shape=(1, 1), opt_shape=(1, 1), max_shape=(2, 2))
    with pytest.raises(error) as raised:
        make(helper, module, ids, x)
    assert str(raised.value) == message
