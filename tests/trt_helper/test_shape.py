"""Shape, indexing and dtype ops vs torch, with static and run-time (shape-tensor) arguments."""

import pytest
import torch
import torch.nn.functional as F
from op_harness import check_op, randn, spec


def _two(gen, shape, dims, grow=3):
    return [{"x": randn(gen, *shape)}, {"x": randn(gen, *(s + grow if i in dims else s for i, s in enumerate(shape)))}]


def test_reshape_static_and_minus_one(dtype, gen, tmp_path):
    check_op(
        dtype,
        {"x": spec((2, 3, 4))},
        lambda h, x: (h.addReshape(x, (6, 4)), h.addReshape(x, (-1, 12))),
        lambda x: (x.reshape(6, 4), x.reshape(-1, 12)),
        [{"x": randn(gen, 2, 3, 4)}],
        tmp_path,
    )


def test_reshape_with_runtime_dims(dtype, gen, tmp_path):
    """(B, T, H*D) -> (B, T, H, D) with B, T taken from the tensor at run time."""

    def make(h, x):
        return h.addReshape(x, (h.addShapeOf(x, 0), h.addShapeOf(x, 1), 4, 2))

    check_op(
        dtype,
        {"x": spec((2, 5, 8), (0, 1))},
        make,
        lambda x: x.reshape(x.shape[0], x.shape[1], 4, 2),
        _two(gen, (2, 5, 8), (0, 1)),
        tmp_path,
    )


def test_reshape_dynamic_minus_one(dtype, gen, tmp_path):
    check_op(
        dtype,
        {"x": spec((2, 5, 8), (1,))},
        lambda h, x: h.addReshape(x, (2, -1, 4)),
        lambda x: x.reshape(2, -1, 4),
        _two(gen, (2, 5, 8), (1,)),
        tmp_path,
    )


def test_flatten_unflatten(dtype, gen, tmp_path):
    def make(h, x):
        heads = h.addUnflatten(x, -1, (4, -1))
        return heads, h.addFlatten(heads, 2), h.addFlatten(x, 0, 1), h.addUnflatten(x, 1, (1, -1))

    check_op(
        dtype,
        {"x": spec((2, 5, 8), (0, 1))},
        make,
        lambda x: (
            x.unflatten(-1, (4, -1)),
            x.unflatten(-1, (4, -1)).flatten(2),
            x.flatten(0, 1),
            x.unflatten(1, (1, -1)),
        ),
        _two(gen, (2, 5, 8), (0, 1)),
        tmp_path,
    )


def test_transpose_permute(dtype, gen, tmp_path):
    check_op(
        dtype,
        {"x": spec((2, 5, 8), (0, 1))},
        lambda h, x: (h.addTranspose(x, 1, 2), h.addPermute(x, (2, 0, 1))),
        lambda x: (x.transpose(1, 2), x.permute(2, 0, 1)),
        _two(gen, (2, 5, 8), (0, 1)),
        tmp_path,
    )


def test_unsqueeze_squeeze(dtype, gen, tmp_path):
    check_op(
        dtype,
        {"x": spec((2, 1, 8), (0,))},
        lambda h, x: (h.addUnsqueeze(x, -1), h.addUnsqueeze(x, 0), h.addSqueeze(x, 1)),
        lambda x: (x.unsqueeze(-1), x.unsqueeze(0), x.squeeze(1)),
        _two(gen, (2, 1, 8), (0,)),
        tmp_path,
    )


@pytest.mark.parametrize("start,end,step", [(0, 3, 1), (1, None, 2), (-4, -1, 1), (2, 100, 3), (5, 2, 1)])
@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
def test_slice(dtype, gen, tmp_path, start, end, step, dynamic):
    dims = (1,) if dynamic else ()
    check_op(
        dtype,
        {"x": spec((2, 9, 4), dims)},
        lambda h, x: h.addSlice(x, 1, start, end, step),
        lambda x: x[:, start:end:step],
        _two(gen, (2, 9, 4), dims) if dynamic else [{"x": randn(gen, 2, 9, 4)}],
        tmp_path,
    )


def test_slice_tensor_bounds(dtype, gen, tmp_path):
    """x[:, n//2 : n] with n read from the shape at run time."""

    def make(h, x):
        n = h.addShapeOf(x, 1)
        return h.addSlice(x, 1, h.addFloorDiv(n, 2), n)

    check_op(
        dtype,
        {"x": spec((2, 9, 4), (1,))},
        make,
        lambda x: x[:, x.shape[1] // 2 :],
        _two(gen, (2, 9, 4), (1,), grow=4),
        tmp_path,
    )


def test_concat_split_chunk(dtype, gen, tmp_path):
    def make(h, x):
        a, b, c = h.addSplit(x, [1, 2, 3], -1)
        p, q = h.addChunk(x, 2, -1)
        return h.addConcat([c, a, b], -1), p, q, h.addConcat([x, x], 0)

    check_op(
        dtype,
        {"x": spec((2, 5, 6), (0, 1))},
        make,
        lambda x: (
            torch.cat(list(reversed(torch.split(x, [1, 2, 3], -1)))[0:1] + list(torch.split(x, [1, 2, 3], -1))[:2], -1),
            *torch.chunk(x, 2, -1),
            torch.cat([x, x], 0),
        ),
        _two(gen, (2, 5, 6), (0, 1)),
        tmp_path,
    )


def test_index_select_and_gather(dtype, gen, tmp_path):
    def make(h, x, index, element_index):
        return h.addIndexSelect(x, 1, index), h.addIndexSelect(x, 2, [3, 0, 0]), h.addGather(x, 2, element_index)

    def ref(x, index, element_index):
        return x.index_select(1, index.long()), x[:, :, [3, 0, 0]], torch.gather(x, 2, element_index.long())

    sizes = []
    for b in (2, 4):
        sizes.append(
            {
                "x": randn(gen, b, 5, 6),
                "index": torch.randint(0, 5, (3,), generator=gen, dtype=torch.int32),
                "element_index": torch.randint(0, 6, (b, 5, 2), generator=gen, dtype=torch.int32),
            }
        )
    specs = {
        "x": spec((2, 5, 6), (0,)),
        "index": spec((3,), dtype=torch.int32),
        "element_index": spec((2, 5, 2), (0,), dtype=torch.int32),
    }
    check_op(dtype, specs, make, ref, sizes, tmp_path)


def test_cast_and_shape_of(gen, tmp_path):
    check_op(
        torch.float32,
        {"x": spec((2, 5, 6), (0, 1))},
        lambda h, x: (
            h.addCast(h.addCast(x, torch.float16), torch.float32),
            h.addShapeOf(x),
            h.addShapeOf(x, 1),
            h.addCast(x, torch.int32),
        ),
        lambda x: (x.half().float(), torch.tensor(x.shape), torch.tensor(x.shape[1]), x.int()),
        _two(gen, (2, 5, 6), (0, 1)),
        tmp_path,
    )


def test_where(dtype, gen, tmp_path):
    def make(h, x):
        return h.addWhere(h.addGreater(x, 0.0), x, -1.0), h.addWhere(h.addLess(x, 0.0), 0.0, h.addMul(x, 2.0))

    check_op(
        dtype,
        {"x": spec((2, 5, 6), (0,))},
        make,
        lambda x: (torch.where(x > 0, x, -1.0), torch.where(x < 0, 0.0, 2 * x)),
        _two(gen, (2, 5, 6), (0,)),
        tmp_path,
    )


@pytest.mark.parametrize("pad,value", [((1, 2), 0.0), ((0, 0, 3, 1), -1.5), ((-1, 2, 1, 0, 0, 1), 0.0)])
def test_pad(dtype, gen, tmp_path, pad, value):
    check_op(
        dtype,
        {"x": spec((2, 5, 6), (0, 1))},
        lambda h, x: h.addPad(x, pad, value),
        lambda x: F.pad(x, pad, value=value),
        _two(gen, (2, 5, 6), (0, 1)),
        tmp_path,
    )


def test_mask_from_lengths(gen, tmp_path):
    """Mask over the time dim of x, with T read from x's shape at run time."""

    def make(h, x, lengths):
        return h.addMaskFromLengths(lengths, h.addShapeOf(x, 1)), h.addArange(h.addShapeOf(x, 1))

    def ref(x, lengths):
        t = torch.arange(x.shape[1])
        return t[None, :] < lengths[:, None], t.int()

    sizes = [
        {"x": randn(gen, 3, 7), "lengths": torch.tensor([7, 0, 3], dtype=torch.int32)},
        {"x": randn(gen, 2, 12), "lengths": torch.tensor([1, 12], dtype=torch.int32)},
    ]
    check_op(
        torch.float32,
        {"x": spec((3, 7), (0, 1)), "lengths": spec((3,), (0,), dtype=torch.int32)},
        make,
        ref,
        sizes,
        tmp_path,
    )
