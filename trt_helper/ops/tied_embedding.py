"""A tied token table: one constant serving the embedding lookup and the logits head (``x @ tableᵀ``).

With weight-only formats the table is quantized like a linear of weight (V, D) (per token or in blocks along D; at
least 8 bits unless ``helper.quantized`` gives it) and stored transposed, (D, V): TensorRT-RTX 1.7.1 keeps a (V, D)
quantized table that feeds a gather and a matmul twice — rows for the gather, a transposed copy for the matmul
(Whisper tiny.en's 51864 × 384 int8 table: 40.1 MB, the size of the fp16 table) — while a (D, V) table is stored
once (20.2 MB): the matmul reads it as it is and the lookup gathers columns. fp tables stay (V, D) (stored once).
An odd V gets one zero row of padding (the logits are sliced back to V): TensorRT-RTX keeps a second, padded copy
of an odd table (Whisper base's 51865 × 384 fp16 table: 80.0 MB, padded 40.2 MB); a padded table is a computed
constant, not a view of the parameter.
"""

from __future__ import annotations

import torch
from torch import nn

from ..core import ITensor, NetworkHelper, op
from ..core.base import WEIGHT_FORMATS
from ..quant.weight import QuantizedWeight, quantize_weight, table_bits
from .constant import addConstant
from .gather import addIndexSelect
from .matmul import addMatMul
from .permute import addPermute
from .quantize import addDequantize, addQuantize
from .slice import addSlice


def tied_weight(helper: NetworkHelper, module: nn.Embedding) -> QuantizedWeight | None:
    """The table's quantized form (None: fp): ``helper.quantized`` under the module's path (None there: fp), else
    round-to-nearest in the helper's ``group_size`` and ``weights``, at least 8 bits
    (:func:`~trt_helper.quant.weight.table_bits`)."""
    path = helper.module_path(module)
    if path in helper.quantized:
        given = helper.quantized[path]
        if given is not None:
            extras = [f for f in ("input_scale", "act_scale", "offsets") if getattr(given, f) is not None]
            if tuple(given.values.shape) != tuple(module.weight.shape) or extras:
                raise ValueError(
                    f"{helper.where()}: quantized table for '{path}' must be a plain {tuple(module.weight.shape)} "
                    f"weight, got {tuple(given.values.shape)}{' with ' + ', '.join(extras) if extras else ''}"
                )
        return given
    bits = WEIGHT_FORMATS[helper.weight_format]
    if bits is None:
        return None
    return quantize_weight(module.weight, table_bits(bits), helper.group_size, where=helper.where())


def _pad_rows(t: torch.Tensor, value: float = 0.0) -> torch.Tensor:
    """``t`` with one row of ``value`` appended when its row count is odd (see the module docstring)."""
    return torch.cat([t, t.new_full((1, *t.shape[1:]), value)]) if t.shape[0] % 2 else t


def _table(helper: NetworkHelper, module: nn.Embedding) -> tuple[ITensor, bool]:
    """(table tensor, transposed): (V', D) fp constant, or the (D, V') dequantized table, V' = V rounded up to
    even; made once per network."""

    def make() -> tuple[ITensor, bool]:
        if module.max_norm is not None:
            raise ValueError(f"{helper.where()}: Embedding(max_norm={module.max_norm}) is not supported")
        qw = tied_weight(helper, module)
        if qw is None:
            return addConstant(helper, _pad_rows(module.weight.detach()), name="token_table"), False
        qw = QuantizedWeight(_pad_rows(qw.values), _pad_rows(qw.scales, 1.0), qw.bits, qw.group_size)
        values = qw.values.t().contiguous()  # (D, V')
        if qw.bits == 8:
            q = addConstant(helper, values, dtype=torch.int8, name="token_table")
        else:  # exact small integers quantized with scale 1: TensorRT stores a packed INT4 constant
            integers = addConstant(helper, values, dtype=helper.dtype, name="token_table")
            q = addQuantize(helper, integers, 1.0, "int4", name="token_table_int4")
        if qw.group_size is None:
            return addDequantize(helper, q, qw.scales, axis=1, name="token_table_dq"), True
        return addDequantize(helper, q, qw.scales.t().contiguous(), name="token_table_dq"), True

    return helper.memo(("tied_table", id(module)), make)


@op
def addTiedEmbedding(helper: NetworkHelper, module: nn.Embedding, ids: ITensor) -> ITensor:
    """``module(ids)`` read from the table that :meth:`addTiedLogits` shares: int ids (B, T) → (B, T, D).

    Example:
        >>> x = helper.addTiedEmbedding(self.token_embedding, tokens)
    """
    helper.check_rank(ids, (2,), "ids")
    if helper.torch_dtype(ids) not in (torch.int32, torch.int64):
        raise TypeError(f"{helper.where()}: ids must be int32/int64, got {helper.torch_dtype(ids)} {helper.shape(ids)}")
    table, transposed = _table(helper, module)
    if not transposed:  # ids < V never reach the padding row
        return addIndexSelect(helper, table, 0, ids, name="lookup")
    return addPermute(helper, addIndexSelect(helper, table, 1, ids, name="lookup"), (1, 2, 0), name="lookup_bt")


@op
def addTiedLogits(helper: NetworkHelper, module: nn.Embedding, x: ITensor) -> ITensor:
    """``x @ module.weightᵀ`` with the table :meth:`addTiedEmbedding` reads: (…, D) → (…, V) in x's dtype.

    Example:
        >>> logits = helper.addTiedLogits(self.token_embedding, self.ln(x))
    """
    helper.check_rank(x, range(2, 9))
    helper.check_float(x)
    size = helper.shape(x)[-1]
    if size not in (-1, module.embedding_dim):
        raise ValueError(
            f"{helper.where()}: x {helper.shape(x)} has {size} features, table "
            f"'{helper.module_path(module)}' has {module.embedding_dim}"
        )
    table, transposed = _table(helper, module)
    logits = addMatMul(helper, x, table, transpose_b=not transposed, name="tied_logits")
    return logits if module.num_embeddings % 2 == 0 else addSlice(helper, logits, -1, 0, module.num_embeddings)
