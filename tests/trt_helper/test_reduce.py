"""Reductions, softmax and top-k vs torch."""

import pytest
import torch
from op_harness import check_op, randn, spec


@pytest.mark.parametrize(
    "method,reference", [("addSum", torch.sum), ("addMean", torch.mean), ("addMax", torch.amax), ("addMin", torch.amin)]
)
@pytest.mark.parametrize("dim,keepdim", [(-1, False), (1, True), ((0, 2), False)])
def test_reductions(dtype, gen, tmp_path, method, reference, dim, keepdim):
    sizes = [{"x": randn(gen, 3, 5, 7)}, {"x": randn(gen, 6, 5, 7)}]
    check_op(
        dtype,
        {"x": spec((3, 5, 7), (0,))},
        lambda h, x: getattr(h, method)(x, dim, keepdim),
        lambda x: reference(x, dim=dim, keepdim=keepdim),
        sizes,
        tmp_path,
    )


@pytest.mark.parametrize("dim", [-1, 1])
def test_softmax(dtype, gen, tmp_path, dim):
    sizes = [{"x": randn(gen, 2, 6, 9) * 4}, {"x": randn(gen, 2, 6, 20) * 4}]
    check_op(
        dtype,
        {"x": spec((2, 6, 9), (2,))},
        lambda h, x: h.addSoftmax(x, dim),
        lambda x: torch.softmax(x, dim),
        sizes,
        tmp_path,
    )


def test_log_softmax(dtype, gen, tmp_path):
    sizes = [{"x": randn(gen, 2, 6, 9) * 4}, {"x": randn(gen, 3, 6, 9) * 4}]
    check_op(
        dtype,
        {"x": spec((2, 6, 9), (0,))},
        lambda h, x: h.addLogSoftmax(x, -1),
        lambda x: torch.log_softmax(x, -1),
        sizes,
        tmp_path,
    )


def test_topk_and_argmax(gen, tmp_path):
    """Values and int32 indices; distinct values so the order is unambiguous."""

    def draw(b):
        return torch.stack([torch.randperm(12, generator=gen).float() for _ in range(b * 3)]).reshape(b, 3, 12)

    sizes = [{"x": draw(2)}, {"x": draw(5)}]
    check_op(
        torch.float32,
        {"x": spec((2, 3, 12), (0,))},
        lambda h, x: (*h.addTopK(x, 4, -1), h.addArgMax(x, -1), h.addArgMax(x, 1, keepdim=True)),
        lambda x: (
            *(v if i == 0 else v.int() for i, v in enumerate(torch.topk(x, 4, -1))),
            x.argmax(-1).int(),
            x.argmax(1, keepdim=True).int(),
        ),
        sizes,
        tmp_path,
    )
