"""Property test: random chains of shape ops agree with torch (hypothesis)."""

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from op_harness import build_op, spec


@st.composite
def shape_programs(draw):
    rank = draw(st.integers(2, 4))
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=rank, max_size=rank)))
    steps = []
    current = list(shape)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["permute", "reshape", "slice", "concat"]))
        if kind == "permute":
            perm = draw(st.permutations(range(len(current))))
            steps.append(("permute", tuple(perm)))
            current = [current[p] for p in perm]
        elif kind == "reshape":
            total = 1
            for d in current:
                total *= d
            first = draw(st.sampled_from([d for d in range(1, total + 1) if total % d == 0]))
            steps.append(("reshape", (first, -1)))
            current = [first, total // first]
        elif kind == "slice":
            dim = draw(st.integers(0, len(current) - 1))
            start = draw(st.integers(-current[dim], current[dim]))
            end = draw(st.one_of(st.none(), st.integers(-current[dim], current[dim] + 2)))
            step = draw(st.integers(1, 3))
            if not len(range(current[dim])[slice(start, end, step)]):
                start, end, step = 0, None, 1  # keep the chain non-empty
            steps.append(("slice", (dim, start, end, step)))
            current[dim] = len(range(current[dim])[slice(start, end, step)])
        else:
            dim = draw(st.integers(0, len(current) - 1))
            steps.append(("concat", dim))
            current[dim] *= 2
    return shape, steps


def _apply_torch(x, steps):
    for kind, arg in steps:
        if kind == "permute":
            x = x.permute(arg)
        elif kind == "reshape":
            x = x.reshape(arg)
        elif kind == "slice":
            dim, start, end, step = arg
            x = x[(slice(None),) * dim + (slice(start, end, step),)]
        else:
            x = torch.cat([x, x * 2], arg)
    return x


def _apply_helper(h, x, steps):
    for kind, arg in steps:
        if kind == "permute":
            x = h.addPermute(x, arg)
        elif kind == "reshape":
            x = h.addReshape(x, arg)
        elif kind == "slice":
            x = h.addSlice(x, *arg)
        else:
            x = h.addConcat([x, h.addMul(x, 2.0)], arg)
    return x


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape_programs())
def test_shape_chains_match_torch(program):
    shape, steps = program
    x = torch.randn(shape)
    want = _apply_torch(x, steps)
    helper = build_op(torch.float32, {"x": spec(shape)}, lambda h, t: _apply_helper(h, t, steps))
    got = helper.reference({"x": x})["out0"]
    assert tuple(got.shape) == tuple(want.shape)
    assert torch.equal(got, want)
