"""Transformer layers and stacks by helper(module, ...) vs torch (eval)."""

import pytest
import torch
from nn_harness import dyn_spec
from op_harness import check_op, randn
from torch import nn

from trt_helper import NetworkHelper


def _eval(module, gen):
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * 0.1)
    return module.eval()


def _sizes(gen, b_t_s=((2, 5, 4), (3, 8, 6)), batch_first=True):
    sizes = []
    for b, t, s in b_t_s:
        pad = torch.zeros(b, t, dtype=torch.bool)
        pad[-1, t - 2 :] = True
        lead = (b, t) if batch_first else (t, b)
        mem = (b, s) if batch_first else (s, b)
        sizes.append({"x": randn(gen, *lead, 16), "pad": pad, "mem": randn(gen, *mem, 16)})
    return sizes


def _specs(batch_first=True):
    x = (2, 5, 16) if batch_first else (5, 2, 16)
    mem = (2, 4, 16) if batch_first else (4, 2, 16)
    return {
        "x": dyn_spec(x, {0: 1, 1: 1}),
        "pad": dyn_spec((2, 5), {0: 1, 1: 1}, dtype=torch.bool),
        "mem": dyn_spec(mem, {0: 1, 1: 1}),
    }


@pytest.mark.parametrize("norm_first,activation", [(False, "relu"), (True, "gelu")])
def test_encoder_and_decoder_layers(dtype, gen, tmp_path, norm_first, activation):
    kw = dict(dim_feedforward=24, dropout=0.1, activation=activation, batch_first=True, norm_first=norm_first)
    encoder = _eval(nn.TransformerEncoderLayer(16, 4, **kw), gen)
    decoder = _eval(nn.TransformerDecoderLayer(16, 4, **kw), gen)

    def make(h, x, pad, mem):
        return [
            h(encoder, x, src_key_padding_mask=pad),
            h(decoder, x, mem, tgt_is_causal=True, tgt_key_padding_mask=pad),
        ]

    def want(x, pad, mem):
        causal = nn.Transformer.generate_square_subsequent_mask(x.shape[1])
        with torch.no_grad():
            return [
                encoder(x, src_key_padding_mask=pad),
                decoder(x, mem, tgt_mask=causal, tgt_is_causal=True, tgt_key_padding_mask=pad),
            ]

    check_op(dtype, _specs(), make, want, _sizes(gen), None)


@pytest.mark.parametrize("norm_first", [pytest.param(False, marks=pytest.mark.slow), True])
def test_transformer_stacks(dtype, gen, tmp_path, norm_first):
    """nn.Transformer (encoder + decoder stacks with their final norms), sequence first, GELU module activation;
    a two-layer TransformerEncoder with a key padding mask. The family's plan is built here (fp16)."""
    model = _eval(
        nn.Transformer(
            16,
            2,
            num_encoder_layers=1,
            num_decoder_layers=1,
            dim_feedforward=20,
            activation=nn.GELU(approximate="tanh"),
            norm_first=norm_first,
        ),
        gen,
    )
    encoder = _eval(
        nn.TransformerEncoder(
            nn.TransformerEncoderLayer(16, 4, 24, norm_first=norm_first),
            2,
            norm=nn.LayerNorm(16),
            enable_nested_tensor=False,
        ),
        gen,
    )

    def make(h, x, pad, mem):
        return [
            h(model, mem, x, tgt_is_causal=True, src_key_padding_mask=None),
            h(encoder, x, src_key_padding_mask=pad),
        ]

    def want(x, pad, mem):
        causal = nn.Transformer.generate_square_subsequent_mask(x.shape[0])
        with torch.no_grad():
            return [model(mem, x, tgt_mask=causal, tgt_is_causal=True), encoder(x, src_key_padding_mask=pad)]

    specs = _specs(batch_first=False)
    specs["pad"] = dyn_spec((2, 5), {0: 1, 1: 1}, dtype=torch.bool)
    sizes = _sizes(gen, batch_first=False)
    check_op(dtype, specs, make, want, sizes, tmp_path if dtype == torch.float16 and norm_first else None)


def test_transformer_errors():
    helper = NetworkHelper(torch.float32, name="net")
    x = helper.addInput("x", torch.float32, (2, 5, 16))
    layer = nn.TransformerEncoderLayer(16, 4, 24, activation=lambda t: t * 2, batch_first=True).eval()
    with pytest.raises(ValueError, match=r"activation='<lambda>' is not supported"):
        helper(layer, x)
