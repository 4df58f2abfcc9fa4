"""Binary ops with broadcasting and scalars, and matrix multiply, vs torch."""

import operator

import pytest
import torch
from op_harness import check_op, randn, spec

BINARY = {
    "add": ("addAdd", operator.add),
    "sub": ("addSub", operator.sub),
    "mul": ("addMul", operator.mul),
    "div": ("addDiv", operator.truediv),
    "maximum": ("addMaximum", torch.maximum),
    "minimum": ("addMinimum", torch.minimum),
}


@pytest.mark.parametrize("op", list(BINARY))
@pytest.mark.parametrize("b_shape", [(2, 5, 8), (8,), (2, 1, 8), (1, 5, 1)], ids=["same", "rank1", "mid1", "ends1"])
def test_binary_broadcast(dtype, gen, tmp_path, op, b_shape):
    method, reference = BINARY[op]

    def draw(*shape):
        x = randn(gen, *shape)
        return x.sign() * (x.abs() + 0.5) if op == "div" else x

    dims_b = (0,) if len(b_shape) == 3 and b_shape[0] == 2 else ()
    bigger_b = tuple(4 if i in dims_b else s for i, s in enumerate(b_shape))
    sizes = [{"a": draw(2, 5, 8), "b": draw(*b_shape)}, {"a": draw(4, 5, 8), "b": draw(*bigger_b)}]
    specs = {"a": spec((2, 5, 8), (0,)), "b": spec(b_shape, dims_b)}
    check_op(dtype, specs, lambda h, a, b: getattr(h, method)(a, b), reference, sizes, tmp_path)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
@pytest.mark.parametrize("side", ["right", "left"])
def test_binary_scalar(dtype, gen, tmp_path, op, side):
    method, reference = BINARY[op]
    value = 2.5
    if side == "right":
        make, ref = (lambda h, a: getattr(h, method)(a, value)), (lambda a: reference(a, value))
    else:
        make, ref = (lambda h, a: getattr(h, method)(value, a)), (lambda a: reference(value, a))
    sizes = [{"a": randn(gen, 3, 4).abs() + 0.5}, {"a": randn(gen, 7, 4).abs() + 0.5}]
    check_op(dtype, {"a": spec((3, 4), (0,))}, make, ref, sizes, tmp_path)


def test_integer_ops(gen, tmp_path):
    """FloorDiv and comparisons on int32 (shape arithmetic)."""
    sizes = [
        {"a": torch.randint(-20, 20, (6,), generator=gen, dtype=torch.int32)},
        {"a": torch.randint(-20, 20, (11,), generator=gen, dtype=torch.int32)},
    ]
    check_op(
        torch.float32,
        {"a": spec((6,), (0,), dtype=torch.int32)},
        lambda h, a: (h.addFloorDiv(a, 4), h.addLess(a, 3), h.addEqual(a, 0), h.addGreater(a, -2)),
        lambda a: (torch.div(a, 4, rounding_mode="floor"), a < 3, a == 0, a > -2),
        sizes,
        tmp_path,
    )


@pytest.mark.parametrize("ta,tb", [(False, False), (False, True), (True, False), (True, True)])
def test_matmul(dtype, gen, tmp_path, ta, tb):
    a_shape = (2, 3, 9, 5) if ta else (2, 3, 5, 9)
    b_shape = (4, 9) if tb else (9, 4)

    def ref(a, b):
        return torch.matmul(a.transpose(-1, -2) if ta else a, b.transpose(-1, -2) if tb else b)

    sizes = [
        {"a": randn(gen, *a_shape), "b": randn(gen, *b_shape)},
        {"a": randn(gen, 1, *a_shape[1:]), "b": randn(gen, *b_shape)},
    ]
    check_op(
        dtype,
        {"a": spec(a_shape, (0,)), "b": spec(b_shape)},
        lambda h, a, b: h.addMatMul(a, b, transpose_a=ta, transpose_b=tb),
        ref,
        sizes,
        tmp_path,
    )


def test_matmul_attention_scores(dtype, gen, tmp_path):
    """q @ k^T with dynamic batch and time, as in attention."""
    sizes = [
        {"q": randn(gen, 2, 4, 7, 8), "k": randn(gen, 2, 4, 9, 8)},
        {"q": randn(gen, 1, 4, 3, 8), "k": randn(gen, 1, 4, 12, 8)},
    ]
    check_op(
        dtype,
        {"q": spec((2, 4, 7, 8), (0, 2)), "k": spec((2, 4, 9, 8), (0, 2))},
        lambda h, q, k: h.addMatMul(q, k, transpose_b=True),
        lambda q, k: q @ k.transpose(-1, -2),
        sizes,
        tmp_path,
    )
