"""RelPositionalEncoding plugin: WeNet's relative positional encoding at inference.

Inputs x (B, T, D) and the table pe (1, max_len, D) in x's dtype; field ``scale`` (float32); outputs
``x * scale`` (B, T, D) and ``pe[:, :T]`` (1, T, D).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..core import ITensor, NetworkHelper, op
from ..ops.binary import addMul
from ..ops.constant import addConstant
from ..ops.shape_of import addShapeOf
from ..ops.slice import addSlice
from .library import add_plugin_layer, resolve_impl

NAME = "RelPositionalEncoding"
EXAMPLE = (
    {"scale": 8.0},
    [((2, 5, 16), "float16"), ((1, 40, 16), "float16")],
    [((2, 5, 16), "float16"), ((1, 5, 16), "float16")],
)
BAD_FIELDS = [({}, "missing"), ({"scale": 1}, "FLOAT32")]


def reference(x: torch.Tensor, pe: torch.Tensor, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x * scale, pe[:, :T])`` in float64."""
    return x.double() * scale, pe[:, : x.shape[1]].double()


def sinusoid_table(max_len: int, dim: int) -> torch.Tensor:
    """WeNet's RelPositionalEncoding table (1, max_len, dim): sin on even dims, cos on odd (float64)."""
    position = torch.arange(max_len, dtype=torch.float64)[:, None]
    div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float64) * -(math.log(10000.0) / dim))
    pe = torch.zeros(max_len, dim, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(position * div)
    pe[:, 1::2] = torch.cos(position * div)
    return pe[None]


@op(module=nn.Module)
def addRelPositionalEncoding(
    helper: NetworkHelper, module: nn.Module, x: ITensor, impl: str | None = None
) -> tuple[ITensor, ITensor]:
    """WeNet's RelPositionalEncoding at inference: x (B, T, D) → ``(x * module.xscale, module.pe[:, :T])``;
    ``module.pe`` is the (1, max_len, D) table. T > max_len fails at run time (plugin) or in the slice.

    Example:
        >>> x, pos_emb = helper.addRelPositionalEncoding(model.encoder.pos_enc, x)
    """
    helper.check_rank(x, (3,))
    helper.check_float(x)
    pe = getattr(module, "pe", None)
    if not isinstance(pe, torch.Tensor) or pe.dim() != 3 or pe.shape[0] != 1:
        raise TypeError(
            f"{helper.where()}: module needs a (1, max_len, D) tensor 'pe', got "
            f"{type(module).__name__} with pe={getattr(pe, 'shape', pe)}"
        )
    dim = helper.shape(x)[2]
    if dim != -1 and dim != pe.shape[2]:
        raise ValueError(f"{helper.where()}: x {helper.shape(x)} has D={dim}, the table has {pe.shape[2]}")
    scale = float(getattr(module, "xscale", math.sqrt(pe.shape[2])))
    table = addConstant(helper, pe, dtype=helper.torch_dtype(x), name="pe")
    if resolve_impl(helper, impl) == "plugin":
        scaled, pos = add_plugin_layer(helper, NAME, {"scale": scale}, [x, table])
        return scaled, pos
    pos = addSlice(helper, table, 1, 0, addShapeOf(helper, x, 1, name="frames"), name="pos_emb")
    return addMul(helper, x, scale, name="xscale"), pos
