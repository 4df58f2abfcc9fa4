"""RNN / LSTM / GRU (TensorRT loops, dynamic length) and their cells by helper(module, ...) vs torch."""

import copy

import pytest
import torch
from nn_harness import dyn_spec
from op_harness import check_op, fp16_tolerance, randn
from torch import nn

from trt_helper import NetworkHelper


def _flat(out):
    """torch's (output, h_n) / (output, (h_n, c_n)) as a flat list."""
    output, state = out
    return [output, *state] if isinstance(state, tuple) else [output, state]


@pytest.mark.parametrize("kind", [nn.RNN, nn.LSTM, nn.GRU])
def test_recurrent(dtype, gen, tmp_path, kind):
    """Two stacked bidirectional layers, batch first, zero initial state; one layer, sequence first, given state."""
    torch.manual_seed(int(torch.randint(0, 2**31, (1,), generator=gen)))
    deep = kind(5, 6, num_layers=2, bidirectional=True, batch_first=True).eval()
    shallow = kind(5, 4, bias=False).eval() if kind is not nn.RNN else kind(5, 4, nonlinearity="relu").eval()
    specs = {
        "x": dyn_spec((2, 4, 5), {0: 1, 1: 1}),
        "xt": dyn_spec((4, 2, 5), {0: 1, 1: 1}),
        "h": dyn_spec((1, 2, 4), {1: 1}),
        "c": dyn_spec((1, 2, 4), {1: 1}),
    }
    sizes = [
        {"x": randn(gen, b, t, 5), "xt": randn(gen, t, b, 5), "h": randn(gen, 1, b, 4), "c": randn(gen, 1, b, 4)}
        for b, t in ((2, 4), (3, 3))
    ]

    def make(h, x, xt, h0, c0):
        state = (h0, c0) if kind is nn.LSTM else h0
        return _flat(h(deep, x)) + _flat(h(shallow, xt, state))

    def want(x, xt, h0, c0, deep=deep, shallow=shallow):
        with torch.no_grad():
            return _flat(deep(x)) + _flat(shallow(xt, (h0, c0) if kind is nn.LSTM else h0))

    def want_fp16(x, xt, h0, c0):
        half = [t.half() for t in (x, xt, h0, c0)]
        return want(*half, deep=copy.deepcopy(deep).half(), shallow=copy.deepcopy(shallow).half())

    tol = fp16_tolerance(want, want_fp16, sizes) if dtype == torch.float16 else None
    check_op(dtype, specs, make, want, sizes, tmp_path if dtype == torch.float16 and kind is nn.LSTM else None, tol)


def test_cells(dtype, gen, tmp_path):
    torch.manual_seed(int(torch.randint(0, 2**31, (1,), generator=gen)))
    rnn, lstm, gru = nn.RNNCell(5, 4).eval(), nn.LSTMCell(5, 4).eval(), nn.GRUCell(5, 4, bias=False).eval()
    specs = {"x": dyn_spec((2, 5), {0: 1}), "h": dyn_spec((2, 4), {0: 1}), "c": dyn_spec((2, 4), {0: 1})}
    sizes = [{"x": randn(gen, b, 5), "h": randn(gen, b, 4), "c": randn(gen, b, 4)} for b in (2, 3)]

    def make(h, x, h0, c0):
        return [h(rnn, x), h(rnn, x, h0), *h(lstm, x), *h(lstm, x, (h0, c0)), h(gru, x, h0)]

    def want(x, h0, c0):
        with torch.no_grad():
            return [rnn(x), rnn(x, h0), *lstm(x), *lstm(x, (h0, c0)), gru(x, h0)]

    check_op(dtype, specs, make, want, sizes, None)


def test_recurrent_errors():
    helper = NetworkHelper(torch.float32, name="net")
    x = helper.addInput("x", torch.float32, (2, 5, 3))
    with pytest.raises(ValueError, match=r"LSTM\(proj_size=2\) is not supported"):
        helper(nn.LSTM(3, 4, proj_size=2), x)
    with pytest.raises(ValueError, match="3 features in dim 2, the module expects 6"):
        helper(nn.GRU(6, 4), x)
