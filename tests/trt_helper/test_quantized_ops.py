"""addQuantize / addDequantize and weight-only addLinear vs PyTorch fake quantization / dequantize-then-matmul."""

import re

import pytest
import torch
from op_harness import build_op, check_op, randn, spec
from torch import nn

import trt_helper
from trt_helper.quant import quantize_weight

QMAX = {"int8": 127, "int4": 7}


def fake_quant(x, scale, qtype):
    """Quantize then dequantize in torch: round half to even, saturate."""
    if qtype == "fp8":
        return (x / scale).clamp(-448, 448).to(torch.float8_e4m3fn).float() * scale
    return torch.round(x / scale).clamp(-QMAX[qtype] - 1, QMAX[qtype]) * scale


@pytest.mark.parametrize("qtype,scale", [("int8", 0.02), ("int4", 0.3)])
def test_quantize_dequantize_per_tensor(dtype, gen, tmp_path, qtype, scale):
    """Per-tensor Q→DQ of an activation; x spans past the range so saturation is exercised. The scale is held in x's
    dtype (0.3 in fp16 is 0.29998779): with the exact 0.3 the reference rounded 10 of 300 seeds to the other side."""
    sizes = [{"x": 3 * randn(gen, 4, 16)}, {"x": 3 * randn(gen, 9, 16)}]
    check_op(
        dtype,
        {"x": spec((4, 16), (0,))},
        lambda h, x: h.addDequantize(h.addQuantize(x, scale, qtype), scale, dtype),
        lambda x: fake_quant(x.to(dtype).float(), torch.tensor(scale).to(dtype).float(), qtype),
        sizes,
        tmp_path,
    )


def test_fp8_needs_ada(gen, tmp_path):
    """fp8 e4m3 Q→DQ: evaluated exactly; TensorRT-RTX builds it for SM89/SM120 and refuses SM86 (Ampere)."""
    helper = build_op(
        torch.float32, {"x": spec((4, 16), (0,))}, lambda h, x: h.addDequantize(h.addQuantize(x, 0.01, "fp8"), 0.01)
    )
    x = 3 * randn(gen, 5, 16)
    assert trt_helper.rel_error(helper.reference({"x": x})["out0"], fake_quant(x, 0.01, "fp8")) <= 1e-6
    assert helper.build(tmp_path / "fp8.plan", targets=("SM89", "SM120")).plan_bytes > 0
    with pytest.raises(RuntimeError, match="Cannot compile for target.*sm86.*fp8"):
        helper.build(tmp_path / "fp8_sm86.plan", targets=("SM86",))


@pytest.mark.parametrize("kind", ["axis", "block"])
def test_dequantize_weight(dtype, gen, tmp_path, kind):
    """An int8 constant dequantized per output channel or per block of 32 along K, then a matmul."""
    values = torch.randint(-127, 128, (6, 64), generator=gen, dtype=torch.int8)
    scale = torch.rand((6,) if kind == "axis" else (6, 2), generator=gen) * 0.01 + 1e-3
    weight = values.float() * (scale[:, None] if kind == "axis" else scale.repeat_interleave(32, 1))

    def make(h, x):
        w = h.addDequantize(h.addConstant(values), scale, dtype, axis=0 if kind == "axis" else None)
        return h.addMatMul(x, w, transpose_b=True)

    sizes = [{"x": randn(gen, 3, 64)}, {"x": randn(gen, 5, 64)}]
    check_op(dtype, {"x": spec((3, 64), (0,))}, make, lambda x: x @ weight.to(dtype).float().T, sizes, tmp_path)


@pytest.mark.parametrize(
    "weights,group_size", [("int8", None), ("int8", 64), ("int4", None), ("int4", 32), ("int4", 128)]
)
def test_linear_weight_only(dtype, gen, tmp_path, weights, group_size):
    """Through the reference: equal to x @ dequantize(W).T + b; and it really quantizes (differs from fp)."""
    module = nn.Linear(256, 24)
    qw = quantize_weight(module.weight, 8 if weights == "int8" else 4, group_size)
    sizes = [{"x": randn(gen, 2, 3, 256)}, {"x": randn(gen, 4, 1, 256)}]
    helper = check_op(
        dtype,
        {"x": spec((2, 3, 256), (0, 1))},
        lambda h, x: h.addLinear(module, x, weights=weights, group_size=group_size),
        lambda x: nn.functional.linear(x, qw.dequantize(), module.bias),
        sizes,
        tmp_path,
    )
    if dtype == torch.float32:
        x = sizes[0]["x"]
        err = trt_helper.rel_error(helper.reference({"x": x})["out0"], module(x).detach())
        assert 1e-5 < err < (2e-2 if weights == "int8" else 1.5e-1), f"{weights} vs fp: rel err {err:.3e}"


def test_network_default_and_given_weights(gen):
    """NetworkHelper(weights=, group_size=) reaches helper(module) code unchanged; `quantized` overrides a path."""
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 16))
    given = quantize_weight(model[2].weight, 8)
    given.input_scale = torch.rand(32, generator=gen) + 0.5
    helper = trt_helper.NetworkHelper(torch.float32, name="mlp", weights="int4", group_size=32, quantized={"2": given})
    x = helper.addInput("x", torch.float32, (-1, 64), min_shape=(1, 64), opt_shape=(4, 64), max_shape=(8, 64))
    helper.markOutput(helper(model, x), "y")
    kinds = [helper.network.get_layer(i).type.name for i in range(helper.network.num_layers)]
    assert kinds.count("DEQUANTIZE") == 2
    xi = randn(gen, 5, 64)
    first = quantize_weight(model[0].weight, 4, 32).dequantize()
    hidden = torch.relu(nn.functional.linear(xi, first, model[0].bias))
    want = nn.functional.linear(hidden, given.dequantize(), model[2].bias)
    assert trt_helper.rel_error(helper.reference({"x": xi})["y"], want) <= 1e-5


def test_plan_bytes_shrink(tmp_path):
    """A 512×512 fp16 linear: int8 weights ≤ 55 % of the fp16 plan, int4 g128 ≤ 40 %."""
    module = nn.Linear(512, 512, bias=False)
    sizes = {}
    for weights, group_size in (("fp", None), ("int8", None), ("int4", 128)):
        helper = trt_helper.NetworkHelper(torch.float16, weights=weights, group_size=group_size)
        x = helper.addInput("x", torch.float16, (-1, 512), min_shape=(1, 512), opt_shape=(4, 512), max_shape=(8, 512))
        helper.markOutput(helper(module, x), "y")
        sizes[weights] = helper.build(tmp_path / f"{weights}.plan").plan_bytes
    assert sizes["int8"] <= 0.55 * sizes["fp"] and sizes["int4"] <= 0.40 * sizes["fp"], sizes


def _linear_error(module, **kwargs):
    helper = trt_helper.NetworkHelper(torch.float32, name="net")
    x = helper.addInput("x", torch.float32, (2, module.in_features))
    helper.setModel(nn.ModuleDict({"proj": module}))
    helper.addLinear(module, x, **kwargs)


@pytest.mark.parametrize(
    "weight,kwargs,message",
    [
        (
            (8, 64),
            dict(weights="int3"),
            "addLinear at 'proj': weights='int3' is not one of ['fp', 'int8', 'int4'] (weight (8, 64))",
        ),
        (
            (8, 64),
            dict(weights="int4", group_size=48),
            "addLinear at 'proj': group_size=48 is not supported ([None, 32, 64, 128]) for weight (8, 64)",
        ),
        (
            (8, 96),
            dict(weights="int4", group_size=64),
            "addLinear at 'proj': K=96 of weight (8, 96) is not divisible by group_size=64",
        ),
        ("nan", dict(weights="int8"), "addLinear at 'proj': weight (8, 64) has a non-finite value at [3, 1]"),
    ],
)
def test_linear_errors(weight, kwargs, message):
    module = nn.Linear(*(reversed(weight) if weight != "nan" else (64, 8)))
    if weight == "nan":
        with torch.no_grad():
            module.weight[3, 1] = float("inf")
    with pytest.raises(ValueError, match=re.escape(message)):
        _linear_error(module, **kwargs)


@pytest.mark.parametrize(
    "make,error,message",
    [
        (
            lambda h, x: h.addQuantize(x, 0.1, "int2"),
            ValueError,
            "addQuantize at 'net': dtype='int2' is not a quantized type of this backend (['int8', 'int4', 'fp8'])",
        ),
        (
            lambda h, x: h.addQuantize(x, -1.0),
            ValueError,
            "addQuantize at 'net': scales must be finite and > 0, got min -1 for input (4, 64)",
        ),
        (
            lambda h, x: h.addQuantize(x, torch.ones(4, 3)),
            ValueError,
            "addQuantize at 'net': scale (4, 3) is neither per tensor, per axis nor per block of input (4, 64)",
        ),
        (
            lambda h, x: h.addQuantize(x, torch.ones(64)),
            ValueError,
            "addQuantize at 'net': a per-axis scale (64,) needs axis= (input (4, 64))",
        ),
        (
            lambda h, x: h.addDequantize(x, 0.1),
            TypeError,
            "addDequantize at 'net': input must be int8, int4 or fp8, got DataType.FLOAT with shape (4, 64)",
        ),
    ],
)
def test_quantize_errors(make, error, message):
    helper = trt_helper.NetworkHelper(torch.float32, name="net")
    x = helper.addInput("x", torch.float32, (4, 64))
    with pytest.raises(error, match=re.escape(message)):
        make(helper, x)


def test_helper_option_errors():
    with pytest.raises(ValueError, match=re.escape("NetworkHelper(weights='int2'): expected one of")):
        trt_helper.NetworkHelper(torch.float32, weights="int2")
    with pytest.raises(ValueError, match=re.escape("NetworkHelper(group_size=16): expected one of")):
        trt_helper.NetworkHelper(torch.float32, weights="int4", group_size=16)
