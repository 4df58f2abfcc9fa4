"""torch.nn.TransformerEncoderLayer / TransformerDecoderLayer, their Encoder / Decoder stacks and nn.Transformer
(eval mode; post-norm or ``norm_first``; relu, gelu or any activation module the helper knows)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from ..core import ITensor, NetworkHelper, leaf, op
from ..plugins.LayerNorm import addLayerNorm
from .activations import addGELU, addReLU
from .attention import Mask
from .binary import addAdd
from .linear import addLinear
from .multihead_attention import addMultiheadAttention

Layer = nn.TransformerEncoderLayer | nn.TransformerDecoderLayer


def _feed_forward(helper: NetworkHelper, layer: Layer, x: ITensor) -> ITensor:
    hidden = addLinear(helper, layer.linear1, x)
    activation = layer.activation
    if isinstance(activation, nn.Module):
        hidden = helper(activation, hidden)
    elif activation is F.relu:
        hidden = addReLU(helper, hidden)
    elif activation is F.gelu:
        hidden = addGELU(helper, hidden)
    else:
        raise ValueError(
            f"{helper.where()}: activation={getattr(activation, '__name__', activation)!r} is not "
            f"supported; use 'relu', 'gelu' or a torch.nn activation module"
        )
    return addLinear(helper, layer.linear2, hidden)


def _attend(
    helper: NetworkHelper,
    attention: nn.MultiheadAttention,
    x: ITensor,
    memory: ITensor,
    mask: Mask,
    key_padding_mask: Mask,
    is_causal: bool,
) -> ITensor:
    return addMultiheadAttention(
        helper,
        attention,
        x,
        memory,
        memory,
        key_padding_mask=key_padding_mask,
        need_weights=False,
        attn_mask=mask,
        is_causal=is_causal,
    )[0]


def _residual(helper: NetworkHelper, layer: Layer, norm: nn.LayerNorm, x: ITensor, block, name: str) -> ITensor:
    """``x + block(norm(x))`` with ``norm_first``, else ``norm(x + block(x))``."""
    if layer.norm_first:
        return addAdd(helper, x, block(addLayerNorm(helper, norm, x)), name=name)
    return addLayerNorm(helper, norm, addAdd(helper, x, block(x), name=name))


@op(module=nn.TransformerEncoderLayer)
def addTransformerEncoderLayer(
    helper: NetworkHelper,
    module: nn.TransformerEncoderLayer,
    src: ITensor,
    src_mask: Mask = None,
    src_key_padding_mask: Mask = None,
    is_causal: bool = False,
) -> ITensor:
    """``module(src, src_mask, src_key_padding_mask, is_causal)`` for ``torch.nn.TransformerEncoderLayer`` (eval).
    Masks follow nn.MultiheadAttention (bool True = masked out, or floating); ``is_causal`` without ``src_mask``
    applies the causal mask.

    Example:
        >>> x = helper.addTransformerEncoderLayer(self.layer, x, src_key_padding_mask=pad)
    """
    x = _residual(
        helper,
        module,
        module.norm1,
        src,
        lambda t: _attend(helper, module.self_attn, t, t, src_mask, src_key_padding_mask, is_causal),
        "self_attn_residual",
    )
    return _residual(helper, module, module.norm2, x, lambda t: _feed_forward(helper, module, t), "ff_residual")


@op(module=nn.TransformerDecoderLayer)
def addTransformerDecoderLayer(
    helper: NetworkHelper,
    module: nn.TransformerDecoderLayer,
    tgt: ITensor,
    memory: ITensor,
    tgt_mask: Mask = None,
    memory_mask: Mask = None,
    tgt_key_padding_mask: Mask = None,
    memory_key_padding_mask: Mask = None,
    tgt_is_causal: bool = False,
    memory_is_causal: bool = False,
) -> ITensor:
    """``module(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask, tgt_is_causal,
    memory_is_causal)`` for ``torch.nn.TransformerDecoderLayer`` (eval).

    Example:
        >>> y = helper.addTransformerDecoderLayer(self.layer, y, memory, tgt_is_causal=True)
    """
    x = _residual(
        helper,
        module,
        module.norm1,
        tgt,
        lambda t: _attend(helper, module.self_attn, t, t, tgt_mask, tgt_key_padding_mask, tgt_is_causal),
        "self_attn_residual",
    )
    x = _residual(
        helper,
        module,
        module.norm2,
        x,
        lambda t: _attend(
            helper, module.multihead_attn, t, memory, memory_mask, memory_key_padding_mask, memory_is_causal
        ),
        "cross_attn_residual",
    )
    return _residual(helper, module, module.norm3, x, lambda t: _feed_forward(helper, module, t), "ff_residual")


@op(module=nn.TransformerEncoder)
def addTransformerEncoder(
    helper: NetworkHelper,
    module: nn.TransformerEncoder,
    src: ITensor,
    mask: Mask = None,
    src_key_padding_mask: Mask = None,
    is_causal: bool = False,
) -> ITensor:
    """``module(src, mask, src_key_padding_mask, is_causal)`` for ``torch.nn.TransformerEncoder`` (eval). Padded
    positions hold computed values (torch's nested-tensor fast path zeroes them).

    Example:
        >>> memory = helper.addTransformerEncoder(self.encoder, x, src_key_padding_mask=pad)
    """
    x = src
    for layer in module.layers:
        x = addTransformerEncoderLayer(helper, layer, x, mask, src_key_padding_mask, is_causal)
    return x if module.norm is None else helper(module.norm, x)


@op(module=nn.TransformerDecoder)
def addTransformerDecoder(
    helper: NetworkHelper,
    module: nn.TransformerDecoder,
    tgt: ITensor,
    memory: ITensor,
    tgt_mask: Mask = None,
    memory_mask: Mask = None,
    tgt_key_padding_mask: Mask = None,
    memory_key_padding_mask: Mask = None,
    tgt_is_causal: bool = False,
    memory_is_causal: bool = False,
) -> ITensor:
    """``module(tgt, memory, …)`` for ``torch.nn.TransformerDecoder`` (eval), arguments as the decoder layer's.

    Example:
        >>> y = helper.addTransformerDecoder(self.decoder, y, memory, tgt_is_causal=True)
    """
    x = tgt
    for layer in module.layers:
        x = addTransformerDecoderLayer(
            helper,
            layer,
            x,
            memory,
            tgt_mask,
            memory_mask,
            tgt_key_padding_mask,
            memory_key_padding_mask,
            tgt_is_causal,
            memory_is_causal,
        )
    return x if module.norm is None else helper(module.norm, x)


@op(module=nn.Transformer)
def addTransformer(
    helper: NetworkHelper,
    module: nn.Transformer,
    src: ITensor,
    tgt: ITensor,
    src_mask: Mask = None,
    tgt_mask: Mask = None,
    memory_mask: Mask = None,
    src_key_padding_mask: Mask = None,
    tgt_key_padding_mask: Mask = None,
    memory_key_padding_mask: Mask = None,
    src_is_causal: bool = False,
    tgt_is_causal: bool = False,
    memory_is_causal: bool = False,
) -> ITensor:
    """``module(src, tgt, …)`` for ``torch.nn.Transformer`` (eval): its encoder, then its decoder on the memory.

    Example:
        >>> y = helper.addTransformer(self.transformer, src, tgt, tgt_is_causal=True)
    """
    memory = helper(
        module.encoder, src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal
    )
    return helper(
        module.decoder,
        tgt,
        memory,
        tgt_mask=tgt_mask,
        memory_mask=memory_mask,
        tgt_key_padding_mask=tgt_key_padding_mask,
        memory_key_padding_mask=memory_key_padding_mask,
        tgt_is_causal=tgt_is_causal,
        memory_is_causal=memory_is_causal,
    )


leaf(nn.TransformerEncoderLayer, addTransformerEncoderLayer)
leaf(nn.TransformerDecoderLayer, addTransformerDecoderLayer)
leaf(nn.TransformerEncoder, addTransformerEncoder)
leaf(nn.TransformerDecoder, addTransformerDecoder)
leaf(nn.Transformer, addTransformer)
