"""T1 (CPU): the helper ops with a native and a plugin path, native path through the reference executor against
the PyTorch references of trt_helper.plugins.<Name>.reference (and built to a plan with the backend); the impl= plumbing. The plugin
path needs standard TensorRT (add_plugin_v3); on TensorRT-RTX impl="plugin" must fail clearly."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch import nn

import trt_helper
from trt_helper.backend import BackendUnavailable, get_backend
from trt_helper.plugins import (
    AttMaskedSoftmax,
    FMoEExpert,
    MaskConv2dSubsample,
    MaskedFill,
    RelPositionalEncoding,
    SoftmaxTopK,
)

try:
    get_backend()
except BackendUnavailable as error:
    pytest.skip(f"no TensorRT backend: {error}", allow_module_level=True)

from op_harness import check_op, spec  # tests/op_harness.py (pytest's pythonpath has tests/)

IMPL = "native"


def lengths_for(batch, time, gen):
    fixed = [0, 1, time][:batch]
    return torch.tensor(
        fixed + torch.randint(0, time + 1, (batch - len(fixed),), generator=gen).tolist(), dtype=torch.int32
    )


def plan_dir(dtype, tmp_path):
    """Build the plan once per op (fp16), evaluate-only for fp32: keeps the CPU time of these tests small."""
    return tmp_path if dtype == torch.float16 else None


def test_att_masked_softmax(dtype, gen, tmp_path):
    scale = 1 / math.sqrt(16)
    specs = {"scores": spec((3, 2, 5, 9), dims=(0, 2, 3)), "lengths": spec((3,), dims=(0,), dtype=torch.int32)}
    make = lambda h, s, l: h.addAttMaskedSoftmax(s, l, scale, impl=IMPL)
    want = lambda s, l: AttMaskedSoftmax.reference(s, l, scale).float()
    sizes = [
        {"scores": torch.randn(b, 2, tq, tk, generator=gen) * 3, "lengths": lengths_for(b, tk, gen)}
        for b, tq, tk in ((3, 5, 9), (4, 3, 17))
    ]
    check_op(dtype, specs, make, want, sizes, plan_dir(dtype, tmp_path))


@pytest.mark.parametrize("layout", ["BCT", "BTC"])
def test_masked_fill(dtype, gen, tmp_path, layout):
    specs = {"x": spec((3, 4, 6), dims=(0, 1, 2)), "lengths": spec((3,), dims=(0,), dtype=torch.int32)}
    make = lambda h, x, l: h.addMaskedFill(x, l, -2.5, layout=layout, impl=IMPL)
    want = lambda x, l: MaskedFill.reference(x, l, -2.5, 0 if layout == "BCT" else 1).float()
    time = lambda shape: shape[2] if layout == "BCT" else shape[1]
    sizes = [
        {"x": torch.randn(*s, generator=gen), "lengths": lengths_for(s[0], time(s), gen)}
        for s in ((3, 4, 6), (5, 7, 3))
    ]
    check_op(dtype, specs, make, want, sizes, plan_dir(dtype, tmp_path))


@pytest.mark.parametrize("factor", [4, 6, 8])
def test_mask_conv2d_subsample(gen, tmp_path, factor):
    specs = {"lengths": spec((5,), dims=(0,), dtype=torch.int32, hi=128)}
    make = lambda h, l: h.addMaskConv2dSubsample(l, factor, impl=IMPL)
    sizes = [
        {"lengths": torch.arange(0, 40, dtype=torch.int32)},
        {"lengths": torch.randint(0, 6000, (7,), generator=gen, dtype=torch.int32)},
    ]
    check_op(
        torch.float32,
        specs,
        make,
        lambda l: MaskConv2dSubsample.reference(l, factor),
        sizes,
        tmp_path if factor == 4 else None,
    )


class TablePE(nn.Module):
    """Stand-in for WeNet's RelPositionalEncoding: a (1, max_len, D) table ``pe`` and ``xscale``."""

    def __init__(self, max_len, dim):
        super().__init__()
        self.xscale = math.sqrt(dim)
        self.register_buffer("pe", RelPositionalEncoding.sinusoid_table(max_len, dim).float(), persistent=False)


def test_rel_positional_encoding(dtype, gen, tmp_path):
    module = TablePE(50, 8)
    specs = {"x": spec((2, 7, 8), dims=(0, 1))}
    make = lambda h, x: h.addRelPositionalEncoding(module, x, impl=IMPL)
    want = lambda x: tuple(t.float() for t in RelPositionalEncoding.reference(x, module.pe, module.xscale))
    sizes = [{"x": torch.randn(2, 7, 8, generator=gen)}, {"x": torch.randn(3, 50, 8, generator=gen)}]
    check_op(dtype, specs, make, want, sizes, plan_dir(dtype, tmp_path))


def test_softmax_topk(dtype, gen, tmp_path):
    specs = {"logits": spec((3, 6, 5), dims=(0, 1)), "lengths": spec((3,), dims=(0,), dtype=torch.int32)}
    make = lambda h, x, l: h.addSoftmaxTopK(x, l, impl=IMPL)

    def want(x, l):
        value, index = SoftmaxTopK.reference(x, l)
        return value.float(), index

    sizes = [
        {"logits": torch.randn(b, t, 5, generator=gen) * 3, "lengths": lengths_for(b, t, gen)}
        for b, t in ((3, 6), (4, 11))
    ]
    check_op(dtype, specs, make, want, sizes, plan_dir(dtype, tmp_path))


class ExpertLinear(nn.Module):
    def __init__(self, experts, d_in, d_out, gen):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(experts, d_out, d_in, generator=gen) / math.sqrt(d_in))
        self.bias = nn.Parameter(torch.randn(experts, d_out, generator=gen) * 0.1)


class Experts(nn.Module):
    def __init__(self, experts, dim, hidden, activation, gen):
        super().__init__()
        self.w_1 = ExpertLinear(experts, dim, hidden, gen)
        self.activation = activation
        self.w_2 = ExpertLinear(experts, hidden, dim, gen)


@pytest.mark.parametrize(
    "activation,act", [(nn.SiLU(), 0), (nn.ReLU(), 1), (nn.GELU(), 2)], ids=["swish", "relu", "gelu"]
)
def test_fmoe_expert(dtype, gen, tmp_path, activation, act):
    experts = Experts(4, 8, 12, activation, gen)
    specs = {
        "x": spec((2, 5, 8), dims=(0, 1)),
        "idx": spec((2, 5), dims=(0, 1), dtype=torch.int32),
        "score": spec((2, 5), dims=(0, 1)),
        "lengths": spec((2,), dims=(0,), dtype=torch.int32),
    }
    make = lambda h, x, i, s, l: h.addFMoEExpert(experts, x, i, score=s, lengths=l, impl=IMPL)

    def want(x, idx, score, lengths):
        return FMoEExpert.reference(
            x,
            idx,
            experts.w_1.weight.detach(),
            experts.w_1.bias.detach(),
            experts.w_2.weight.detach(),
            experts.w_2.bias.detach(),
            act,
            score,
            lengths,
        ).float()

    sizes = []
    for b, t in ((2, 5), (3, 9)):
        sizes.append(
            {
                "x": torch.randn(b, t, 8, generator=gen),
                "idx": torch.randint(0, 4, (b, t), generator=gen, dtype=torch.int32),
                "score": torch.rand(b, t, generator=gen),
                "lengths": lengths_for(b, t, gen),
            }
        )
    check_op(dtype, specs, make, want, sizes, tmp_path if dtype == torch.float16 and act == 0 else None)


def test_fmoe_expert_without_score_or_lengths(gen):
    experts = Experts(3, 4, 6, nn.SiLU(), gen)
    specs = {"x": spec((2, 3, 4), dims=(0, 1)), "idx": spec((2, 3, 1), dims=(0, 1), dtype=torch.int32)}
    make = lambda h, x, i: h.addFMoEExpert(experts, x, i, impl=IMPL)
    want = lambda x, i: FMoEExpert.reference(
        x,
        i,
        experts.w_1.weight.detach(),
        experts.w_1.bias.detach(),
        experts.w_2.weight.detach(),
        experts.w_2.bias.detach(),
        0,
    ).float()
    sizes = [
        {
            "x": torch.randn(2, 3, 4, generator=gen),
            "idx": torch.randint(0, 3, (2, 3, 1), generator=gen, dtype=torch.int32),
        }
    ]
    check_op(torch.float32, specs, make, want, sizes, None)


# ------------------------------------------------------------------------------------------------ impl= plumbing
def _helper():
    helper = trt_helper.NetworkHelper(torch.float32, name="impl")
    x = helper.addInput("x", torch.float32, (2, 3, 4))
    lengths = helper.addInput("lengths", torch.int32, (2,))
    return helper, x, lengths


def test_auto_uses_native_layers_where_the_backend_has_no_plugin_layers():
    helper, x, lengths = _helper()
    if helper.backend.can_add_plugin_layers:
        pytest.skip("this backend can add plugin layers")
    helper.addMaskedFill(x, lengths, 0.0, layout="BTC")
    helper.addLayerNorm(nn.LayerNorm(4), x, impl="auto")
    kinds = {helper.network.get_layer(i).type.name for i in range(helper.network.num_layers)}
    assert not any(kind.startswith("PLUGIN") for kind in kinds), kinds


@pytest.mark.parametrize(
    "call",
    [
        lambda h, x, l: h.addAttMaskedSoftmax(x, l, 1.0, impl="plugin"),
        lambda h, x, l: h.addMaskedFill(x, l, 0.0, impl="plugin"),
        lambda h, x, l: h.addMaskConv2dSubsample(l, impl="plugin"),
        lambda h, x, l: h.addSoftmaxTopK(x, l, impl="plugin"),
        lambda h, x, l: h.addRelPositionalEncoding(TablePE(10, 4), x, impl="plugin"),
        lambda h, x, l: h.addLayerNorm(nn.LayerNorm(4), x, impl="plugin"),
    ],
    ids=["softmax", "fill", "subsample", "router", "relpos", "layernorm"],
)
def test_plugin_on_a_backend_without_plugin_layers_is_a_clear_error(call):
    helper, x, lengths = _helper()
    if helper.backend.can_add_plugin_layers:
        pytest.skip("this backend can add plugin layers")
    with pytest.raises(RuntimeError, match="impl='plugin' needs a backend with plugin layers"):
        call(helper, x, lengths)


def test_bad_arguments_fail_at_the_call_site():
    helper, x, lengths = _helper()
    with pytest.raises(ValueError, match="impl must be"):
        helper.addMaskedFill(x, lengths, 0.0, impl="fast")
    with pytest.raises(ValueError, match="layout"):
        helper.addMaskedFill(x, lengths, 0.0, layout="TBC")
    with pytest.raises(ValueError, match="lengths must have rank 1"):
        helper.addAttMaskedSoftmax(x, x, 1.0)
    with pytest.raises(TypeError, match="lengths must be int32"):
        helper.addSoftmaxTopK(x, helper.addInput("float_lengths", torch.float32, (2,)))
    with pytest.raises(ValueError, match="factor"):
        helper.addMaskConv2dSubsample(lengths, 5)
    with pytest.raises(TypeError, match="expert_idx must be int32"):
        helper.addFMoEExpert(Experts(2, 4, 6, nn.SiLU(), torch.Generator()), x, x)
    with pytest.raises(TypeError, match="activation"):
        helper.addFMoEExpert(Experts(2, 4, 6, nn.Tanh(), torch.Generator()), x, lengths)


@pytest.mark.parametrize(
    "old,new",
    [
        ("addMaskedSoftmax", "addAttMaskedSoftmax"),
        ("addRouterTop1", "addSoftmaxTopK"),
        ("addSubsampleLengths", "addMaskConv2dSubsample"),
    ],
)
def test_old_names_warn_and_add_the_same_layers(old, new):
    args = {
        "addMaskedSoftmax": lambda x, l: (x, l, 0.5),
        "addRouterTop1": lambda x, l: (x, l),
        "addSubsampleLengths": lambda x, l: (l, 4),
    }[old]
    networks = []
    for method in (old, new):
        helper, x, lengths = _helper()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            getattr(helper, method)(*args(x, lengths), impl="native")
        assert [w.category for w in caught] == ([DeprecationWarning] if method == old else [])
        networks.append([helper.network.get_layer(i).type for i in range(helper.network.num_layers)])
    assert networks[0] == networks[1]


def test_the_helper_impl_option_reaches_ops_and_module_dispatch():
    helper = trt_helper.NetworkHelper(torch.float32, name="impl", impl="plugin")
    x = helper.addInput("x", torch.float32, (2, 3, 4))
    lengths = helper.addInput("lengths", torch.int32, (2,))
    if helper.backend.can_add_plugin_layers:
        pytest.skip("this backend can add plugin layers")
    for call in (lambda: helper.addMaskedFill(x, lengths, 0.0), lambda: helper(nn.LayerNorm(4), x)):
        with pytest.raises(RuntimeError, match="impl='plugin' needs a backend with plugin layers"):
            call()
    helper.addMaskedFill(x, lengths, 0.0, impl="native")  # an op's own impl= wins
