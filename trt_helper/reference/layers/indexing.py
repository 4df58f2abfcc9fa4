"""Gather, scatter, one-hot, reverse-sequence and non-zero: layers that index into tensors."""

from __future__ import annotations

import torch

from ..registry import evaluator


@evaluator("GATHER")
def gather(layer, inputs, trt, device):
    x, index = inputs[0], inputs[1].long()
    axis, mode = layer.axis, layer.mode.name
    if mode == "ELEMENT":
        return [torch.gather(x, axis, index % x.shape[axis])]
    if mode == "ND":
        return [_gather_nd(x, index, layer.num_elementwise_dims)]
    index = index % x.shape[axis]
    if layer.num_elementwise_dims == 1:
        return [torch.stack([_take(x[b], axis - 1, index[b]) for b in range(x.shape[0])])]
    return [_take(x, axis, index)]


def _take(x, axis, index):
    picked = x.index_select(axis, index.reshape(-1))
    return picked.reshape(tuple(x.shape[:axis]) + tuple(index.shape) + tuple(x.shape[axis + 1 :]))


def _batched_nd(data, index, batch_dims):
    """``data`` and ``index`` with their first ``batch_dims`` dims flattened into one (negative indices wrap)."""
    data = data.reshape(-1, *data.shape[batch_dims:])
    index = index.reshape(data.shape[0], -1, index.shape[-1])
    depth = index.shape[-1]
    sizes = torch.tensor(data.shape[1 : depth + 1], device=index.device)
    index = torch.where(index < 0, index + sizes, index)
    return data, index


def _gather_nd(x, index, batch_dims):
    data, flat = _batched_nd(x, index, batch_dims)
    depth = flat.shape[-1]
    picked = torch.stack([data[b][tuple(flat[b].unbind(-1))] for b in range(data.shape[0])])
    return picked.reshape(*index.shape[:-1], *x.shape[batch_dims + depth :])


@evaluator("SCATTER")
def scatter(layer, inputs, trt, device):
    """ELEMENT: ``out[…, index[i,j,…], …] = updates[i,j,…]`` along ``axis``; ND: ``out[index[i…]] = updates[i…]``
    (index's last dim addresses data's leading dims). Later writes to the same place win."""
    data, index, updates = inputs
    out = data.clone()
    index = index.long()
    if layer.mode.name == "ELEMENT":
        axis = layer.axis % data.dim()
        index = torch.where(index < 0, index + data.shape[axis], index)
        return [out.scatter(axis, index, updates.to(out.dtype))]
    depth = index.shape[-1]
    flat_index = index.reshape(-1, depth)
    sizes = torch.tensor(data.shape[:depth], device=index.device)
    flat_index = torch.where(flat_index < 0, flat_index + sizes, flat_index)
    flat_updates = updates.reshape(flat_index.shape[0], *data.shape[depth:])
    for row, value in zip(flat_index, flat_updates):
        out[tuple(row.tolist())] = value.to(out.dtype)
    return [out]


@evaluator("ONE_HOT")
def one_hot(layer, inputs, trt, device):
    """``on_value`` where the (wrapped, when in [-depth, -1]) index equals the position along ``axis``, else
    ``off_value``; out-of-range indices give a row of ``off_value``."""
    index, values, depth = inputs[0].long(), inputs[1], int(inputs[2].reshape(()))
    index = torch.where(index < 0, index + depth, index)
    rank = index.dim() + 1
    axis = layer.axis % rank
    positions = torch.arange(depth, device=index.device).reshape([depth] + [1] * (rank - 1 - axis))
    hot = index.unsqueeze(axis) == positions
    off, on = values.reshape(-1)[0], values.reshape(-1)[1]
    return [torch.where(hot, on, off)]


@evaluator("REVERSE_SEQUENCE")
def reverse_sequence(layer, inputs, trt, device):
    """For each batch item ``b``, the first ``lengths[b]`` elements along the sequence axis reversed."""
    x, lengths = inputs
    batch_axis, sequence_axis = layer.batch_axis, layer.sequence_axis
    out = x.clone()
    for b in range(x.shape[batch_axis]):
        n = int(lengths[b])
        item = x.select(batch_axis, b)
        axis = sequence_axis - (sequence_axis > batch_axis)
        reversed_part = item.narrow(axis, 0, n).flip(axis)
        out.select(batch_axis, b).narrow(axis, 0, n).copy_(reversed_part)
    return [out]


@evaluator("NON_ZERO")
def non_zero(layer, inputs, trt, device):
    """Indices of the non-zero elements as a ``[rank, count]`` tensor, in row-major order."""
    return [torch.nonzero(inputs[0]).t().contiguous()]
