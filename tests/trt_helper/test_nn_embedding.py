"""Embedding and EmbeddingBag by helper(module, ...) vs torch."""

import pytest
import torch
from nn_harness import check_modules, dyn_spec
from op_harness import check_op
from torch import nn

from trt_helper import NetworkHelper


def _bags(**kw):
    return [nn.EmbeddingBag(20, 6, mode=mode, **kw) for mode in ("sum", "mean", "max")]


def test_embedding_bag_2d(dtype, gen, tmp_path):
    modules = _bags() + _bags(padding_idx=3)
    ids = [torch.randint(0, 20, (3, 5), generator=gen), torch.randint(0, 6, (2, 9), generator=gen)]
    ids[1][0] = 3  # a bag of padding only: zeros
    sizes = [{"ids": i.int()} for i in ids]
    check_modules(
        dtype,
        modules,
        {"ids": dyn_spec((3, 5), {0: 1, 1: 1}, dtype=torch.int32)},
        sizes,
        tmp_path,
        reference=lambda m, i: m(i.long()),
    )


def test_embedding_bag_offsets(dtype, gen, tmp_path):
    """Flat ids with offsets (an empty bag included), last offset included or not, padding_idx."""
    modules = _bags() + _bags(include_last_offset=True) + _bags(padding_idx=0)
    offsets = [torch.tensor([0, 2, 2, 7]), torch.tensor([0, 4])]
    ids = [torch.randint(0, 20, (9,), generator=gen), torch.randint(0, 3, (6,), generator=gen)]
    sizes = [{"ids": i, "offsets": o} for i, o in zip(ids, offsets)]

    def want(m, i, o):
        return m(i, o) if not m.include_last_offset else m(i, torch.cat([o, torch.tensor([len(i)])]))

    def make(helper, i, o):
        outs = []
        for m in modules:
            if m.include_last_offset:
                length = helper.addUnsqueeze(helper.addShapeOf(i, 0), 0)
                outs.append(helper(m, i, helper.addConcat([o, length], 0)))
            else:
                outs.append(helper(m, i, o))
        return outs

    with torch.no_grad():
        check_op(
            dtype,
            {"ids": dyn_spec((9,), {0: 1}, dtype=torch.int64), "offsets": dyn_spec((4,), {0: 1}, dtype=torch.int64)},
            make,
            lambda i, o: [want(m, i, o) for m in modules],
            sizes,
            tmp_path if dtype == torch.float16 else None,
        )


def test_embedding_bag_per_sample_weights(dtype, gen, tmp_path):
    module = nn.EmbeddingBag(20, 6, mode="sum")
    sizes = [
        {"ids": torch.randint(0, 20, (3, 5), generator=gen), "w": torch.rand(3, 5, generator=gen)},
        {"ids": torch.randint(0, 20, (1, 2), generator=gen), "w": torch.rand(1, 2, generator=gen)},
    ]
    with torch.no_grad():
        check_op(
            dtype,
            {"ids": dyn_spec((3, 5), {0: 1, 1: 1}, dtype=torch.int64), "w": dyn_spec((3, 5), {0: 1, 1: 1})},
            lambda h, i, w: h(module, i, per_sample_weights=w),
            lambda i, w: module(i, per_sample_weights=w),
            sizes,
            None,
        )


@pytest.mark.parametrize(
    "module,shape,message",
    [
        (nn.EmbeddingBag(5, 3, max_norm=1.0), (2, 3), r"max_norm=1.0"),
        (nn.Embedding(5, 3, max_norm=1.0), (2, 3), r"max_norm=1.0"),
        (nn.EmbeddingBag(5, 3), (6,), "1-D ids need offsets"),
    ],
)
def test_embedding_errors(module, shape, message):
    helper = NetworkHelper(torch.float32, name="net")
    x = helper.addInput("ids", torch.int32, shape)
    with pytest.raises(ValueError, match=message):
        helper(module, x)
