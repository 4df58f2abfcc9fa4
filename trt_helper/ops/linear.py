"""torch.nn.Linear, with fp or int8 / int4 weight-only weights (int4 blocks may carry offsets: asymmetric, e.g. Q4_1)."""

from __future__ import annotations

import torch
from torch import nn

from ..core import ITensor, NetworkHelper, leaf, op
from ..core.base import WEIGHT_FORMATS
from ..plugins import WeightOnlyGemm
from ..plugins.library import resolve_impl
from ..quant.weight import QuantizedWeight, quantize_weight
from .binary import addAdd, addMul
from .constant import addConstant
from .matmul import addMatMul
from .quantize import addDequantize, addQuantize, dequantized_weight
from .reduce import addSum
from .reshape import addUnflatten

_NETWORK_DEFAULT = "network"  # group_size not given: the helper's group_size


def check_features(helper: NetworkHelper, x: ITensor, dim: int, expected: int, what: str) -> None:
    """Dim ``dim`` of ``x`` (when static) is the module's ``expected`` size."""
    size = helper.shape(x)[dim]
    if size != -1 and size != expected:
        raise ValueError(
            f"{helper.where()}: input shape {helper.shape(x)} has {size} {what} in dim {dim}, "
            f"the module expects {expected}"
        )


def linear_weight(
    helper: NetworkHelper, module: nn.Linear, weights: str | None, group_size: int | None | str
) -> QuantizedWeight | None:
    """The module's quantized weight for this call (None: fp): the helper's ``quantized`` entry for its path (None
    there: fp), else round-to-nearest in ``weights`` format (default: the helper's)."""
    if weights is None and group_size == _NETWORK_DEFAULT and helper.current_path() in helper.quantized:
        given = helper.quantized[helper.current_path()]
        if given is not None and tuple(given.values.shape) != tuple(module.weight.shape):
            raise ValueError(
                f"{helper.where()}: quantized weight {tuple(given.values.shape)} does not match the "
                f"module's weight {tuple(module.weight.shape)}"
            )
        return given
    weights = helper.weight_format if weights is None else weights
    group_size = helper.group_size if group_size == _NETWORK_DEFAULT else group_size
    if weights not in WEIGHT_FORMATS:
        raise ValueError(
            f"{helper.where()}: weights={weights!r} is not one of {list(WEIGHT_FORMATS)} (weight "
            f"{tuple(module.weight.shape)})"
        )
    bits = WEIGHT_FORMATS[weights]
    return None if bits is None else quantize_weight(module.weight, bits, group_size, where=helper.where())  # type: ignore[arg-type]


@op(module=nn.Linear)
def addLinear(
    helper: NetworkHelper,
    module: nn.Linear,
    x: ITensor,
    weights: str | None = None,
    group_size: int | None | str = _NETWORK_DEFAULT,
    impl: str | None = None,
) -> ITensor:
    """``module(x)`` for ``torch.nn.Linear``: ``x @ W.T + b`` for x of rank >= 2 (…, in_features).

    ``weights``: ``"fp"``, ``"int8"`` or ``"int4"`` (weight-only: quantized constants and a dequantize layer feed
    the matmul, so TensorRT picks its weight-only kernels and the plan stores 1 or ½ byte per weight); default
    the helper's ``weights`` option. ``group_size``: None (per output channel) or 32 / 64 / 128 (block-wise
    along K); default the helper's. ``impl`` (quantized weights only): ``"plugin"`` runs the WeightOnlyGemm
    plugin (fp16/bf16, per channel/g64/g128), ``"native"`` the dequantize form, ``"auto"`` the plugin where the
    backend adds plugin layers and the weight fits it; default the helper's ``impl``.

    Example:
        >>> h = helper.addLinear(self.w_1, x)                  # layers named like self.w_1's module path
        >>> h = helper.addLinear(self.w_1, x, weights="int4", group_size=128)
    """
    helper.check_rank(x, range(2, 9))
    helper.check_float(x)
    check_features(helper, x, -1, module.in_features, "features")
    rank, dtype = len(x.shape), helper.torch_dtype(x)
    qw = linear_weight(helper, module, weights, group_size)
    if qw is not None and _use_plugin(helper, qw, dtype, impl):
        return WeightOnlyGemm.plugin_linear(helper, qw, x, module.bias)
    if qw is None:
        weight = addConstant(
            helper, module.weight.reshape((1,) * (rank - 2) + tuple(module.weight.shape)), dtype=dtype, name="weight"
        )
    else:
        if qw.input_scale is not None:
            x = addMul(
                helper,
                x,
                addConstant(
                    helper, (1 / qw.input_scale).reshape((1,) * (rank - 1) + (-1,)), dtype=dtype, name="input_scale"
                ),
            )
        if qw.act_scale is not None:
            x = addDequantize(
                helper,
                addQuantize(helper, x, qw.act_scale, "int8", name="input_q"),
                qw.act_scale,
                dtype,
                name="input_dq",
            )
        weight = dequantized_weight(helper, qw, rank, dtype)
    out = addMatMul(helper, x, weight, transpose_b=True)
    if qw is not None and qw.offsets is not None:
        offsets = _block_offsets(helper, qw.offsets, qw.group_size or module.in_features, x, rank, dtype)
        out = addAdd(helper, out, offsets, name="block_offsets")
    if module.bias is None:
        return out
    bias = addConstant(helper, module.bias.reshape((1,) * (rank - 1) + (-1,)), dtype=dtype, name="bias")
    return addAdd(helper, out, bias)


def _block_offsets(
    helper: NetworkHelper, offsets: torch.Tensor, group_size: int, x: ITensor, rank: int, dtype
) -> ITensor:
    """``blocksum_G(x) · offsetsᵀ``: the asymmetric blocks' offsets (N, K/G) times the sum of x over each block."""
    blocks = addUnflatten(helper, x, -1, (-1, group_size), name="x_blocks")
    sums = addSum(helper, blocks, -1, name="x_block_sums")  # (…, K/G)
    offsets = addConstant(helper, offsets.reshape((1,) * (rank - 2) + tuple(offsets.shape)), dtype=dtype)
    return addMatMul(helper, sums, offsets, transpose_b=True, name="offsets_matmul")


def _use_plugin(helper: NetworkHelper, qw: QuantizedWeight, dtype, impl: str | None) -> bool:
    """``impl="plugin"`` always (errors say why it cannot), ``"auto"`` where the plugin takes this weight."""
    if resolve_impl(helper, impl) != "plugin":
        return False
    return (helper.impl if impl is None else impl) == "plugin" or WeightOnlyGemm.unsupported(qw, dtype) is None


leaf(nn.Linear, addLinear)
