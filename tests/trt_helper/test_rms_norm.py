"""addRMSNorm vs torch.nn.RMSNorm: eps honoured, fp32 statistics in fp16 networks, call-site errors."""

import pytest
import torch
from op_harness import check_op, randn, spec
from torch import nn

import trt_helper


@pytest.mark.parametrize(
    "eps,affine,shape",
    [(1e-5, True, (16,)), (None, True, (16,)), (1e-6, False, (16,)), (1e-5, True, (4, 16))],
    ids=["eps", "eps_none", "no_weight", "2d"],
)
def test_rms_norm(dtype, gen, tmp_path, eps, affine, shape):
    module = nn.RMSNorm(shape, eps=eps, elementwise_affine=affine)
    if affine:
        with torch.no_grad():
            module.weight.normal_(generator=gen)
    sizes = [{"x": randn(gen, 2, 5, 4, 16) * 3 + 1}, {"x": randn(gen, 3, 9, 4, 16)}]
    check_op(dtype, {"x": spec((2, 5, 4, 16), (0, 1))}, lambda h, x: h.addRMSNorm(module, x), module, sizes, tmp_path)


def test_rms_norm_eps_matters(gen, tmp_path):
    """Inputs of size ~1e-3 (mean square ~1e-6): eps=1e-2 changes the output by ~10x, so a dropped eps fails."""
    module = nn.RMSNorm(32, eps=1e-2)
    x = randn(gen, 3, 32) * 1e-3
    assert trt_helper.rel_error(module(x), nn.RMSNorm(32, eps=1e-6)(x)) > 0.5
    check_op(
        torch.float32, {"x": spec((3, 32), (0,))}, lambda h, t: h.addRMSNorm(module, t), module, [{"x": x}], tmp_path
    )


def test_rms_norm_fp16_statistics_in_fp32(gen, tmp_path):
    """Values around 300 overflow x² in fp16 (65504): the mean square must run in fp32."""
    module = nn.RMSNorm(64, eps=1e-5)
    x = randn(gen, 2, 3, 64) + 300.0
    helper = check_op(
        torch.float16,
        {"x": spec((2, 3, 64), (0,))},
        lambda h, t: h.addRMSNorm(module, t),
        lambda t: module(t.half().float()),
        [{"x": x}],
        tmp_path,
    )
    names = [helper.network.get_layer(i).name for i in range(helper.network.num_layers)]
    assert any("to_fp32" in n for n in names)


def test_rms_norm_dispatch_and_errors():
    """helper(nn.RMSNorm) dispatches to addRMSNorm; a wrong feature size names the op, the module and the shapes."""
    model = nn.Sequential(nn.RMSNorm(8))
    helper = trt_helper.NetworkHelper(torch.float32, name="net")
    x = helper.addInput("x", torch.float32, (2, 8))
    helper.markOutput(helper(model, x), "y")
    got = helper.reference({"x": torch.arange(16.0).reshape(2, 8)})["y"]
    assert trt_helper.rel_error(got, model(torch.arange(16.0).reshape(2, 8))) <= 1e-6
    bad = helper.addInput("bad", torch.float32, (2, 9))
    with pytest.raises(ValueError, match=r"addRMSNorm at '0'.*\(2, 9\).*\(8,\)"):
        helper.addRMSNorm(model[0], bad)
