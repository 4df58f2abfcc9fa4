"""The PyTorch model with the same quantized weights as a network: compare quantized TensorRT networks with
PyTorch (or run a quantized variant without TensorRT)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from .weight import QuantizedWeight, quantize_weight, table_bits


def quantize_linears(
    model: nn.Module, bits: int = 8, group_size: int | None = None, tables: Sequence[str] = ()
) -> dict[str, QuantizedWeight]:
    """{path: round-to-nearest weight} for every ``nn.Linear`` of ``model`` and the ``nn.Embedding`` tables at the
    paths ``tables`` (tied tables the network reads through ``addTiedEmbedding`` / ``addTiedLogits``, in
    :func:`~.weight.table_bits`): what ``NetworkHelper(weights=...)`` makes for each of them."""
    return {
        path: quantize_weight(
            module.weight,
            bits if isinstance(module, nn.Linear) else table_bits(bits),
            group_size,
            where=f"quantize_linears at '{path}'",
        )
        for path, module in model.named_modules()
        if isinstance(module, nn.Linear) or (path in tables and isinstance(module, nn.Embedding))
    }


def _fake_quantize_input(act_scale: float):
    def hook(module: nn.Module, args: tuple) -> tuple:
        x = args[0]
        return (torch.round(x / act_scale).clamp(-128, 127) * act_scale, *args[1:])

    return hook


def fake_quantized(model: nn.Module, quantized: Mapping[str, QuantizedWeight | None]) -> nn.Module:
    """A copy of ``model`` whose linears (and embedding tables) at the paths of ``quantized`` use the dequantized
    weights (and fake-quantize their input to int8 where ``act_scale`` is set): PyTorch's version of the quantized
    network.

    Example:
        >>> reference_model = fake_quantized(model, quantize_linears(model, bits=4, group_size=128))
    """
    model = copy.deepcopy(model)
    modules = dict(model.named_modules())
    for path, qw in quantized.items():
        if qw is None:  # kept in the network dtype
            continue
        module = modules.get(path)
        if not isinstance(module, (nn.Linear, nn.Embedding)) or tuple(module.weight.shape) != tuple(qw.values.shape):
            raise ValueError(
                f"fake_quantized: '{path}' is not an nn.Linear or nn.Embedding of weight {tuple(qw.values.shape)} in "
                f"the model (got {type(module).__name__})"
            )
        with torch.no_grad():
            module.weight.copy_(qw.dequantize())
        if qw.act_scale is not None:
            module.register_forward_pre_hook(_fake_quantize_input(qw.act_scale))
    return model
