"""Loops and if-conditionals built with the raw network API, against plain Python loops (NvInfer.h's ILoop and
IIfConditional semantics). Exact comparisons: every step is a float add or multiply done the same way."""

import numpy as np
import pytest
import torch

import trt_helper


@pytest.fixture
def helper():
    return trt_helper.NetworkHelper(torch.float32)


def _scalar(helper, value, dtype=np.int32):
    return helper.network.add_constant((), helper.trt.Weights(np.array(value, dtype=dtype))).get_output(0)


def test_count_loop_with_iterator_recurrence_and_every_output_kind(helper):
    """acc_{t+1} = acc_t · 0.5 + x[t]; outputs: last acc, acc per trip (forward and reversed), x[t] reversed."""
    trt, network = helper.trt, helper.network
    x = helper.addInput("x", torch.float32, (5, 3))
    init = helper.addInput("init", torch.float32, (3,))
    loop = network.add_loop()
    trips = _scalar(helper, 4)
    loop.add_trip_limit(trips, trt.TripLimit.COUNT)
    step = loop.add_iterator(x, 0, False).get_output(0)
    back = loop.add_iterator(x, 0, True).get_output(0)
    acc = loop.add_recurrence(init)
    half = network.add_elementwise(
        acc.get_output(0), helper.addConstant(np.full((3,), 0.5, np.float32)), trt.ElementWiseOperation.PROD
    ).get_output(0)
    nxt = network.add_elementwise(half, step, trt.ElementWiseOperation.SUM).get_output(0)
    acc.set_input(1, nxt)
    last = loop.add_loop_output(acc.get_output(0), trt.LoopOutput.LAST_VALUE).get_output(0)
    forward = loop.add_loop_output(nxt, trt.LoopOutput.CONCATENATE, 1)
    forward.set_input(1, trips)
    reverse = loop.add_loop_output(back, trt.LoopOutput.REVERSE, 0)
    reverse.set_input(1, trips)
    for tensor, name in ((last, "last"), (forward.get_output(0), "forward"), (reverse.get_output(0), "reverse")):
        helper.markOutput(tensor, name)
    xs, start = torch.randn(5, 3), torch.randn(3)
    got = helper.reference({"x": xs, "init": start})
    value, per_trip = start, []
    for t in range(4):
        value = value * 0.5 + xs[t]
        per_trip.append(value)
    assert torch.equal(got["last"], value)
    assert torch.equal(got["forward"], torch.stack(per_trip, 1))
    # the reversed iterator reads x[M-1-t] with M = 4 trips; REVERSE stacks the trips last-first
    assert torch.equal(got["reverse"], torch.stack([xs[3 - t] for t in range(4)][::-1]))


def test_while_loop_stops_before_the_trip_whose_condition_is_false(helper):
    """Doubling while the value is below a limit: the condition is read at the start of each trip."""
    trt, network = helper.trt, helper.network
    x = helper.addInput("x", torch.float32, ())
    loop = network.add_loop()
    value = loop.add_recurrence(x)
    limit = helper.addConstant(np.array(100.0, np.float32))
    below = network.add_elementwise(value.get_output(0), limit, trt.ElementWiseOperation.LESS).get_output(0)
    loop.add_trip_limit(below, trt.TripLimit.WHILE)
    value.set_input(
        1, network.add_elementwise(value.get_output(0), value.get_output(0), trt.ElementWiseOperation.SUM).get_output(0)
    )
    helper.markOutput(loop.add_loop_output(value.get_output(0), trt.LoopOutput.LAST_VALUE).get_output(0), "y")
    for start in (3.0, 150.0):
        expected = start
        while expected < 100:
            expected *= 2
        assert float(helper.reference({"x": torch.tensor(start)})["y"]) == expected


def test_nested_loops_run_the_inner_loop_each_outer_trip(helper):
    """outer t in 0..2: inner adds x three times to the outer state: result = init + 3·3·x."""
    trt, network = helper.trt, helper.network
    x = helper.addInput("x", torch.float32, (2,))
    outer = network.add_loop()
    outer.add_trip_limit(_scalar(helper, 3), trt.TripLimit.COUNT)
    state = outer.add_recurrence(helper.addConstant(np.zeros(2, np.float32)))
    inner = network.add_loop()
    inner.add_trip_limit(_scalar(helper, 3), trt.TripLimit.COUNT)
    inner_state = inner.add_recurrence(state.get_output(0))
    inner_state.set_input(
        1, network.add_elementwise(inner_state.get_output(0), x, trt.ElementWiseOperation.SUM).get_output(0)
    )
    inner_out = inner.add_loop_output(inner_state.get_output(0), trt.LoopOutput.LAST_VALUE).get_output(0)
    state.set_input(1, inner_out)
    helper.markOutput(outer.add_loop_output(state.get_output(0), trt.LoopOutput.LAST_VALUE).get_output(0), "y")
    xs = torch.tensor([1.0, -2.0])
    assert torch.equal(helper.reference({"x": xs})["y"], 9 * xs)


def test_conditional_selects_its_branch(helper):
    """True selects the doubled input, false the negated one."""
    trt, network = helper.trt, helper.network
    flag = helper.addInput("flag", torch.bool, ())
    x = helper.addInput("x", torch.float32, (4,))
    conditional = network.add_if_conditional()
    conditional.set_condition(flag)
    inside = conditional.add_input(x).get_output(0)
    doubled = network.add_elementwise(inside, inside, trt.ElementWiseOperation.SUM).get_output(0)
    negated = network.add_unary(inside, trt.UnaryOperation.NEG).get_output(0)
    helper.markOutput(conditional.add_output(doubled, negated).get_output(0), "y")
    xs = torch.randn(4)
    assert torch.equal(helper.reference({"flag": torch.tensor(True), "x": xs})["y"], xs + xs)
    assert torch.equal(helper.reference({"flag": torch.tensor(False), "x": xs})["y"], -xs)
