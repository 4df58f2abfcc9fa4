"""Reference evaluators for layers that neither the helper nor the ONNX tests emit, built with the raw API."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import trt_helper


def test_padding_layer_matches_torch_pad():
    helper = trt_helper.NetworkHelper(torch.float32)
    x = helper.addInput("x", torch.float32, (2, 3, 4, 5))
    layer = helper.network.add_padding_nd(x, (1, 2), (0, 3))
    helper.markOutput(layer.get_output(0), "y")
    values = torch.randn(2, 3, 4, 5)
    torch.testing.assert_close(helper.reference({"x": values})["y"], F.pad(values, (2, 3, 1, 0)))


def test_assertion_layer_raises_with_its_message():
    helper = trt_helper.NetworkHelper(torch.float32)
    x = helper.addInput("x", torch.float32, (4,))
    positive = helper.addGreater(x, 0.0)
    helper.network.add_assertion(positive, "x must be positive").name = "check_x"
    helper.markOutput(helper.addExp(x), "y")
    assert torch.equal(helper.reference({"x": torch.ones(4)})["y"], torch.exp(torch.ones(4)))
    with pytest.raises(trt_helper.reference.ReferenceError, match="check_x.*x must be positive"):
        helper.reference({"x": torch.tensor([1.0, -1.0, 2.0, 3.0])})


def test_every_layer_type_has_an_evaluator():
    """Each trt.LayerType of the backend is evaluated: by a registered evaluator or, for loop and conditional
    boundary layers, by the executor's regions."""
    from trt_helper.reference.graph import IF_BOUNDARY, LOOP_BOUNDARY

    trt = trt_helper.get_backend().trt
    covered = set(trt_helper.reference.EVALUATORS) | set(LOOP_BOUNDARY) | set(IF_BOUNDARY)
    missing = sorted(set(trt.LayerType.__members__) - covered)
    assert not missing, f"layer types without an evaluator: {missing}"


def test_ragged_softmax_ignores_positions_past_each_bound():
    helper = trt_helper.NetworkHelper(torch.float32)
    x = helper.addInput("x", torch.float32, (3, 5))
    bounds = helper.addInput("bounds", torch.int32, (3, 1))
    helper.markOutput(helper.network.add_ragged_softmax(x, bounds).get_output(0), "y")
    values, lengths = torch.randn(3, 5), torch.tensor([[5], [2], [1]], dtype=torch.int32)
    got = helper.reference({"x": values, "bounds": lengths})["y"]
    for row, n in enumerate(lengths.flatten().tolist()):
        torch.testing.assert_close(got[row, :n], torch.softmax(values[row, :n], 0))
        assert not got[row, n:].any()


def test_non_zero_lists_indices_row_major():
    helper = trt_helper.NetworkHelper(torch.float32)
    x = helper.addInput("x", torch.float32, (2, 3))
    helper.markOutput(helper.network.add_non_zero(x).get_output(0), "y")
    values = torch.tensor([[0.0, 1.0, 0.0], [2.0, 0.0, 3.0]])
    got = helper.reference({"x": values})["y"]
    assert got.tolist() == [[0, 1, 1], [1, 0, 2]]


def test_block_quantize_dequantize_round_trip():
    """INT8 blocks of 4 along the last dim: x/scale rounded half-to-even and saturated, then times the scale."""
    helper = trt_helper.NetworkHelper(torch.float32)
    trt = helper.trt
    x = helper.addInput("x", torch.float32, (2, 8))
    scale = helper.addInput("scale", torch.float32, (2, 2))
    q = helper.network.add_quantize(x, scale, trt.int8)
    dq = helper.network.add_dequantize(q.get_output(0), scale, trt.float32)
    helper.markOutput(q.get_output(0), "q")
    helper.markOutput(dq.get_output(0), "y")
    values = torch.randn(2, 8) * 4
    scales = torch.tensor([[0.5, 0.02], [0.1, 1.0]])
    got = helper.reference({"x": values, "scale": scales})
    full = scales.repeat_interleave(4, 1)
    expected = torch.round(values / full).clamp(-128, 127)
    assert torch.equal(got["q"], expected.to(torch.int8))
    torch.testing.assert_close(got["y"], expected * full)


def test_dynamic_quantize_fp4_blocks_with_double_scale():
    """NVFP4: per block of 16, scale = amax/6 quantized to FP8 after dividing by the double scale; the values are
    then x / (scale · double) rounded to the FP4 grid, whose largest magnitude is 6."""
    helper = trt_helper.NetworkHelper(torch.float32)
    trt = helper.trt
    x = helper.addInput("x", torch.float32, (2, 32))
    layer = helper.network.add_dynamic_quantize(x, 1, 16, trt.fp4, trt.fp8)
    layer.set_input(1, helper.addConstant(np.array(0.5, np.float32)))
    quantized, scales = layer.get_output(0), layer.get_output(1)
    helper.markOutput(helper.network.add_cast(quantized, trt.float32).get_output(0), "q")
    helper.markOutput(helper.network.add_cast(scales, trt.float32).get_output(0), "s")
    values = torch.randn(2, 32)
    got = helper.reference({"x": values})
    amax = values.reshape(2, 2, 16).abs().amax(-1)
    want_scales = (amax / 6 / 0.5).to(torch.float8_e4m3fn).float()
    assert torch.equal(got["s"], want_scales)
    grid = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0])
    assert bool(torch.isin(got["q"].abs(), grid).all()) and float(got["q"].abs().max()) <= 6
    ratio = values.reshape(2, 2, 16) / (want_scales * 0.5).unsqueeze(-1)
    nearest = (ratio.abs().unsqueeze(-1) - grid).abs().min(-1).values
    chosen = (ratio.abs() - got["q"].reshape(2, 2, 16).abs()).abs()
    assert torch.allclose(chosen, nearest)


def test_single_rank_collective_returns_its_input():
    helper = trt_helper.NetworkHelper(torch.float32)
    trt = helper.trt
    x = helper.addInput("x", torch.float32, (4,))
    layer = helper.network.add_dist_collective(x, trt.CollectiveOperation.ALL_REDUCE, trt.ReduceOperation.SUM, -1, [])
    helper.markOutput(layer.get_output(0), "y")
    values = torch.randn(4)
    assert torch.equal(helper.reference({"x": values})["y"], values)


def test_plugin_layers_use_the_registered_reference():
    """TensorRT-RTX cannot add plugin layers; a stand-in layer with a plugin object checks the lookup by name."""
    from types import SimpleNamespace

    from trt_helper.reference.layers.extern import PLUGIN_REFERENCES, plugin

    target = SimpleNamespace(plugin_type="TwiceTest", plugin_version="1")
    layer = SimpleNamespace(name="twice", plugin=target)
    with pytest.raises(trt_helper.reference.ReferenceError, match="TwiceTest v1.*no registered reference"):
        plugin(layer, [torch.ones(2)], trt=SimpleNamespace(), device="cpu")
    trt_helper.reference.register_plugin("TwiceTest")(lambda plugin_object, inputs: [inputs[0] * 2])
    try:
        (doubled,) = plugin(layer, [torch.ones(2)], trt=SimpleNamespace(), device="cpu")
        assert torch.equal(doubled, torch.full((2,), 2.0))
    finally:
        del PLUGIN_REFERENCES[("TwiceTest", "1")]


def test_scale_layer_per_channel():
    """``(x · scale + shift) ^ power`` with one scale/shift/power per channel (axis 1)."""
    helper = trt_helper.NetworkHelper(torch.float32)
    trt = helper.trt
    x = helper.addInput("x", torch.float32, (2, 3, 4))
    # addScaleNd takes shift, scale, power (in that order); the arrays outlive the network in this test
    weights = [np.array(v, np.float32) for v in ([1.0, 0.0, 3.0], [0.5, 2.0, -1.0], [2.0, 1.0, 1.0])]
    layer = helper.network.add_scale_nd(x, trt.ScaleMode.CHANNEL, *(trt.Weights(w) for w in weights), 1)
    helper.markOutput(layer.get_output(0), "y")
    values = torch.randn(2, 3, 4)
    shift, scale, power = (torch.from_numpy(w).reshape(1, 3, 1) for w in weights)
    torch.testing.assert_close(helper.reference({"x": values})["y"], torch.pow(values * scale + shift, power))
