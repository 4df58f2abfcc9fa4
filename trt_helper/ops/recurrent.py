"""torch.nn.RNN / LSTM / GRU through TensorRT loop layers (dynamic sequence length), and their one-step cells.

Per layer and direction the input projection of the whole sequence is one matrix product outside the loop; the
loop iterates it over time (reversed for the backward direction) with the hidden (and cell) state as recurrences.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..core import ITensor, NetworkHelper, leaf, op
from .activations import addReLU, addSigmoid, addTanh
from .binary import addAdd, addMul, addSub
from .cast import addCast
from .concat import addConcat
from .constant import addConstant
from .linear import check_features
from .matmul import addMatMul
from .permute import addTranspose
from .shape_of import addShapeOf
from .slice import addSlice, slice_dims
from .split import addChunk
from .squeeze import addSqueeze, addUnsqueeze

Recurrent = nn.RNN | nn.LSTM | nn.GRU
Cell = nn.RNNCell | nn.LSTMCell | nn.GRUCell


def _affine(helper: NetworkHelper, x: ITensor, weight: torch.Tensor, bias: torch.Tensor | None, what: str) -> ITensor:
    """``x @ weightᵀ + bias`` for x (…, in) (weight (out, in))."""
    dtype, rank = helper.torch_dtype(x), len(x.shape)
    w = addConstant(
        helper, weight.detach().reshape((1,) * (rank - 2) + tuple(weight.shape)), dtype=dtype, name=f"{what}_weight"
    )
    out = addMatMul(helper, x, w, transpose_b=True, name=what)
    if bias is None:
        return out
    return addAdd(
        helper,
        out,
        addConstant(helper, bias.detach().reshape((1,) * (rank - 1) + (-1,)), dtype=dtype, name=f"{what}_bias"),
    )


def _step(
    helper: NetworkHelper,
    module: Recurrent | Cell,
    gates_x: ITensor,
    h: ITensor,
    c: ITensor | None,
    w_hh: Any,
    b_hh: Any,
) -> tuple[ITensor, ITensor | None]:
    """One time step from the input's gate pre-activations ``gates_x`` (B, G·H) (input bias included), the hidden
    state h (B, H) and, for LSTMs, the cell state c → (h', c')."""
    gates_h = _affine(helper, h, w_hh, b_hh, "hh")
    if isinstance(module, (nn.LSTM, nn.LSTMCell)):
        assert c is not None
        i, f, g, o = addChunk(helper, addAdd(helper, gates_x, gates_h, name="gates"), 4, -1, name="gate")
        c_next = addAdd(
            helper,
            addMul(helper, addSigmoid(helper, f), c, name="keep"),
            addMul(helper, addSigmoid(helper, i), addTanh(helper, g), name="write"),
            name="c",
        )
        return addMul(helper, addSigmoid(helper, o), addTanh(helper, c_next), name="h"), c_next
    if isinstance(module, (nn.GRU, nn.GRUCell)):
        xr, xz, xn = addChunk(helper, gates_x, 3, -1, name="x_gate")
        hr, hz, hn = addChunk(helper, gates_h, 3, -1, name="h_gate")
        r = addSigmoid(helper, addAdd(helper, xr, hr), name="reset")
        z = addSigmoid(helper, addAdd(helper, xz, hz), name="update")
        n = addTanh(helper, addAdd(helper, xn, addMul(helper, r, hn)), name="candidate")
        return addAdd(helper, n, addMul(helper, z, addSub(helper, h, n)), name="h"), None  # (1 - z) n + z h
    pre = addAdd(helper, gates_x, gates_h, name="pre")
    return (addTanh(helper, pre, name="h") if module.nonlinearity == "tanh" else addReLU(helper, pre, name="h")), None


def _zeros(helper: NetworkHelper, like: ITensor, size: int) -> ITensor:
    """Zeros (B, size) with ``like``'s dim 0 as B (which may be dynamic) and its dtype."""
    zeros = addConstant(helper, torch.zeros(1, size), dtype=helper.torch_dtype(like), name="zeros")
    batch = helper.shape(like)[0] if helper.shape(like)[0] != -1 else addShapeOf(helper, like, 0)
    return slice_dims(helper, zeros, [0], [0], [batch], [1], mode=helper.trt.SampleMode.WRAP)


def _direction(
    helper: NetworkHelper, module: Recurrent, x: ITensor, layer: int, reverse: bool, h0: ITensor, c0: ITensor | None
) -> tuple[ITensor, ITensor, ITensor | None]:
    """One layer in one direction over x (T, B, I) → (outputs (T, B, H), h_T, c_T)."""
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")

    def weight(name: str) -> Any:
        return getattr(module, f"{name}{suffix}") if module.bias or not name.startswith("bias") else None

    gates_x = _affine(helper, x, weight("weight_ih"), weight("bias_ih"), f"ih{suffix}")  # (T, B, G·H)
    loop = helper.network.add_loop()
    trips = addCast(helper, addShapeOf(helper, x, 0), torch.int32, name="trips")
    helper.finish(loop.add_trip_limit(trips, helper.trt.TripLimit.COUNT), trips)
    step = helper.finish(loop.add_iterator(gates_x, 0, reverse), gates_x).get_output(0)
    h_state = helper.finish(loop.add_recurrence(h0), h0)
    c_state = helper.finish(loop.add_recurrence(c0), c0) if c0 is not None else None
    h, c = _step(
        helper,
        module,
        step,
        h_state.get_output(0),
        c_state.get_output(0) if c_state else None,
        weight("weight_hh"),
        weight("bias_hh"),
    )
    h_state.set_input(1, h)
    if c_state is not None and c is not None:
        c_state.set_input(1, c)
    kind = helper.trt.LoopOutput
    sequence = helper.finish(loop.add_loop_output(h, kind.REVERSE if reverse else kind.CONCATENATE, 0), h)
    sequence.set_input(1, trips)
    # a kLAST_VALUE output reads a recurrence: its value after the last trip
    last = [
        helper.finish(loop.add_loop_output(state.get_output(0), kind.LAST_VALUE), state.get_output(0)).get_output(0)
        for state in (h_state, c_state)
        if state is not None
    ]
    return sequence.get_output(0), last[0], last[1] if c_state is not None else None


def _initial(helper: NetworkHelper, state: ITensor | None, index: int, like: ITensor, size: int) -> ITensor:
    if state is None:
        return _zeros(helper, like, size)
    return addSqueeze(helper, addSlice(helper, state, 0, index, index + 1), 0, name="initial")


def _recurrent(helper: NetworkHelper, module: Recurrent, x: ITensor, hx: Any) -> Any:
    if getattr(module, "proj_size", 0):
        raise ValueError(f"{helper.where()}: LSTM(proj_size={module.proj_size}) is not supported")
    helper.check_rank(x, (3,))
    helper.check_float(x)
    check_features(helper, x, 2, module.input_size, "features")
    lstm = isinstance(module, nn.LSTM)
    h0, c0 = (hx if hx is not None else (None, None)) if lstm else (hx, None)
    for state, what in ((h0, "h_0"), (c0, "c_0")):
        if state is not None:
            helper.check_rank(state, (3,), what)
    seq = addTranspose(helper, x, 0, 1, name="time_major") if module.batch_first else x  # (T, B, I)
    batch = addSqueeze(helper, addSlice(helper, seq, 0, 0, 1), 0, name="batch_like")  # (B, I) for zero states
    directions = 2 if module.bidirectional else 1
    last_h, last_c = [], []
    for layer in range(module.num_layers):
        outputs = []
        for direction in range(directions):
            index = layer * directions + direction
            h_init = _initial(helper, h0, index, batch, module.hidden_size)
            c_init = _initial(helper, c0, index, batch, module.hidden_size) if lstm else None
            out, h, c = _direction(helper, module, seq, layer, direction == 1, h_init, c_init)
            outputs.append(out)
            last_h.append(addUnsqueeze(helper, h, 0))
            if c is not None:
                last_c.append(addUnsqueeze(helper, c, 0))
        seq = outputs[0] if directions == 1 else addConcat(helper, outputs, -1, name=f"l{layer}_directions")
    output = addTranspose(helper, seq, 0, 1, name="batch_first") if module.batch_first else seq
    h_n = addConcat(helper, last_h, 0, name="h_n") if len(last_h) > 1 else last_h[0]
    if not lstm:
        return output, h_n
    return output, (h_n, addConcat(helper, last_c, 0, name="c_n") if len(last_c) > 1 else last_c[0])


@op(module=nn.RNN)
def addRNN(helper: NetworkHelper, module: nn.RNN, x: ITensor, hx: ITensor | None = None) -> tuple[ITensor, ITensor]:
    """``module(x, hx)`` for ``torch.nn.RNN`` (tanh or relu; num_layers, bidirectional, batch_first, bias) → (output,
    h_n), looping over a dynamic sequence length. x (B, T, I) with batch_first else (T, B, I); hx (L·D, B, H).

    Example:
        >>> out, h_n = helper.addRNN(self.rnn, x)
    """
    return _recurrent(helper, module, x, hx)


@op(module=nn.LSTM)
def addLSTM(helper: NetworkHelper, module: nn.LSTM, x: ITensor, hx: tuple[ITensor, ITensor] | None = None) -> tuple:
    """``module(x, (h_0, c_0))`` for ``torch.nn.LSTM`` → ``(output, (h_n, c_n))``, as :meth:`addRNN` (no proj_size).

    Example:
        >>> out, (h_n, c_n) = helper.addLSTM(self.lstm, x, (h0, c0))
    """
    return _recurrent(helper, module, x, hx)


@op(module=nn.GRU)
def addGRU(helper: NetworkHelper, module: nn.GRU, x: ITensor, hx: ITensor | None = None) -> tuple[ITensor, ITensor]:
    """``module(x, hx)`` for ``torch.nn.GRU`` → ``(output, h_n)``, as :meth:`addRNN`.

    Example:
        >>> out, h_n = helper.addGRU(self.gru, x)
    """
    return _recurrent(helper, module, x, hx)


def _cell(helper: NetworkHelper, module: Cell, x: ITensor, hx: Any) -> Any:
    helper.check_rank(x, (2,))
    helper.check_float(x)
    check_features(helper, x, 1, module.input_size, "features")
    lstm = isinstance(module, nn.LSTMCell)
    h, c = (hx if hx is not None else (None, None)) if lstm else (hx, None)
    h = _zeros(helper, x, module.hidden_size) if h is None else h
    c = (_zeros(helper, x, module.hidden_size) if c is None else c) if lstm else None
    gates_x = _affine(helper, x, module.weight_ih, module.bias_ih, "ih")
    h_next, c_next = _step(helper, module, gates_x, h, c, module.weight_hh, module.bias_hh)
    return (h_next, c_next) if lstm else h_next


@op(module=nn.RNNCell)
def addRNNCell(helper: NetworkHelper, module: nn.RNNCell, x: ITensor, hx: ITensor | None = None) -> ITensor:
    """``module(x, hx)`` for ``torch.nn.RNNCell`` on x (B, I) → h' (B, H).

    Example:
        >>> h = helper.addRNNCell(self.cell, x, h)
    """
    return _cell(helper, module, x, hx)


@op(module=nn.LSTMCell)
def addLSTMCell(
    helper: NetworkHelper, module: nn.LSTMCell, x: ITensor, hx: tuple[ITensor, ITensor] | None = None
) -> tuple:
    """``module(x, (h, c))`` for ``torch.nn.LSTMCell`` on x (B, I) → (h', c').

    Example:
        >>> h, c = helper.addLSTMCell(self.cell, x, (h, c))
    """
    return _cell(helper, module, x, hx)


@op(module=nn.GRUCell)
def addGRUCell(helper: NetworkHelper, module: nn.GRUCell, x: ITensor, hx: ITensor | None = None) -> ITensor:
    """``module(x, hx)`` for ``torch.nn.GRUCell`` on x (B, I) → h' (B, H).

    Example:
        >>> h = helper.addGRUCell(self.cell, x, h)
    """
    return _cell(helper, module, x, hx)


leaf(nn.RNN, addRNN)
leaf(nn.LSTM, addLSTM)
leaf(nn.GRU, addGRU)
leaf(nn.RNNCell, addRNNCell)
leaf(nn.LSTMCell, addLSTMCell)
leaf(nn.GRUCell, addGRUCell)
