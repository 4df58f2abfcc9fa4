"""Module-taking ops vs the torch modules themselves."""

import pytest
import torch
from op_harness import check_op, randn, spec
from torch import nn


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("rank", [2, 3, 4])
def test_linear(dtype, gen, tmp_path, bias, rank):
    module = nn.Linear(12, 7, bias=bias)
    shape = (3, 5, 4, 12)[-rank:]
    dims = tuple(range(rank - 1))
    sizes = [{"x": randn(gen, *shape)}, {"x": randn(gen, *(s + 1 for s in shape[:-1]), 12)}]
    check_op(dtype, {"x": spec(shape, dims)}, lambda h, x: h.addLinear(module, x), module, sizes, tmp_path)


@pytest.mark.parametrize(
    "kw",
    [
        dict(kernel_size=3, padding=1),
        dict(kernel_size=15, padding=7, groups=8),
        dict(kernel_size=3, stride=2, bias=False),
        dict(kernel_size=3, dilation=2, padding="same"),
        dict(kernel_size=1),
    ],
    ids=["k3", "depthwise15", "stride2", "dilated_same", "pointwise"],
)
def test_conv1d(dtype, gen, tmp_path, kw):
    module = nn.Conv1d(8, 8 if kw.get("groups") else 6, **kw)
    sizes = [{"x": randn(gen, 2, 8, 31)}, {"x": randn(gen, 3, 8, 50)}]
    check_op(dtype, {"x": spec((2, 8, 31), (0, 2))}, lambda h, x: h.addConv1d(module, x), module, sizes, tmp_path)


def test_conv2d_subsampling(dtype, gen, tmp_path):
    """The conformer front end: Conv2d(1, C, 3, 2) on (B, 1, T, F)."""
    module = nn.Conv2d(1, 4, 3, 2)
    sizes = [{"x": randn(gen, 2, 1, 19, 20)}, {"x": randn(gen, 1, 1, 40, 20)}]
    check_op(dtype, {"x": spec((2, 1, 19, 20), (0, 2))}, lambda h, x: h.addConv2d(module, x), module, sizes, tmp_path)


def test_conv2d_padded_grouped(dtype, gen, tmp_path):
    module = nn.Conv2d(4, 6, (3, 5), stride=(1, 2), padding=(1, 2), groups=2)
    sizes = [{"x": randn(gen, 2, 4, 9, 11)}, {"x": randn(gen, 1, 4, 6, 16)}]
    check_op(dtype, {"x": spec((2, 4, 9, 11), (0, 2, 3))}, lambda h, x: h.addConv2d(module, x), module, sizes, tmp_path)


@pytest.mark.parametrize("eps,affine", [(1e-12, True), (1e-5, False)])
def test_layer_norm(dtype, gen, tmp_path, eps, affine):
    module = nn.LayerNorm(16, eps=eps, elementwise_affine=affine)
    if affine:
        with torch.no_grad():
            module.weight.normal_(generator=gen)
            module.bias.normal_(generator=gen)
    sizes = [{"x": randn(gen, 2, 5, 16) * 3 + 1}, {"x": randn(gen, 4, 9, 16)}]
    check_op(dtype, {"x": spec((2, 5, 16), (0, 1))}, lambda h, x: h.addLayerNorm(module, x), module, sizes, tmp_path)


def test_layer_norm_fp16_statistics_in_fp32(gen, tmp_path):
    """Values around 300 overflow x² in fp16 (65504): the statistics must run in fp32 (cast layers around the
    normalization). The reference is torch on the fp16-rounded input, since the input itself is rounded."""
    module = nn.LayerNorm(64)
    x = randn(gen, 2, 3, 64) + 300.0
    helper = check_op(
        torch.float16,
        {"x": spec((2, 3, 64), (0,))},
        lambda h, t: h.addLayerNorm(module, t),
        lambda t: module(t.half().float()),
        [{"x": x}],
        tmp_path,
    )
    casts = [helper.network.get_layer(i).name for i in range(helper.network.num_layers)]
    assert any("to_fp32" in n for n in casts)


@pytest.mark.parametrize("shape", [(4, 6), (3, 6, 10)])
def test_batch_norm1d(dtype, gen, tmp_path, shape):
    module = nn.BatchNorm1d(6).eval()
    with torch.no_grad():
        module.running_mean.normal_(generator=gen)
        module.running_var.uniform_(0.5, 2.0, generator=gen)
        module.weight.normal_(generator=gen)
        module.bias.normal_(generator=gen)
    dims = (0,) if len(shape) == 2 else (0, 2)
    bigger = tuple(s + 2 if i in dims else s for i, s in enumerate(shape))
    sizes = [{"x": randn(gen, *shape)}, {"x": randn(gen, *bigger)}]
    check_op(dtype, {"x": spec(shape, dims)}, lambda h, x: h.addBatchNorm1d(module, x), module, sizes, tmp_path)


@pytest.mark.parametrize("index_dtype", [torch.int32, torch.int64])
def test_embedding(dtype, gen, tmp_path, index_dtype):
    module = nn.Embedding(50, 8)
    sizes = [
        {"ids": torch.randint(0, 50, (2, 7), generator=gen, dtype=index_dtype)},
        {"ids": torch.randint(0, 50, (3, 1), generator=gen, dtype=index_dtype)},
    ]
    check_op(
        dtype,
        {"ids": spec((2, 7), (0, 1), dtype=index_dtype)},
        lambda h, ids: h.addEmbedding(module, ids),
        lambda ids: module(ids.long()),
        sizes,
        tmp_path,
    )
