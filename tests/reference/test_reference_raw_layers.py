"""Reference evaluators for layers that neither the helper nor the ONNX tests emit, built with the raw API."""

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
