"""helper(module, ...) dispatch, module-path naming, debug tensors and the per-module compare table."""

import pytest
import torch
from torch import nn

import trt_helper


class FeedForward(nn.Module):
    def __init__(self, d=8, h=16):
        super().__init__()
        self.w_1 = nn.Linear(d, h)
        self.activation = nn.SiLU()
        self.dropout = nn.Dropout(0.1)
        self.w_2 = nn.Linear(h, d)

    def forward(self, x):
        return self.w_2(self.dropout(self.activation(self.w_1(x))))

    def trt_forward(self, helper, x):
        return helper(self.w_2, helper(self.dropout, helper(self.activation, helper(self.w_1, x))))


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([FeedForward(), FeedForward()])
        self.head = nn.Sequential(nn.LayerNorm(8), nn.GELU(), nn.Identity(), nn.Linear(8, 3), nn.Tanh())

    def forward(self, x):
        for layer in self.layers:
            x = x + layer(x)
        return self.head(x)

    def trt_forward(self, helper, x):
        for layer in self.layers:
            x = helper.addAdd(x, helper(layer, x))
        return helper(self.head, x)


@pytest.fixture
def built():
    model = Encoder().eval()
    helper = trt_helper.NetworkHelper(torch.float32, name="encoder")
    x = helper.addInput("x", torch.float32, (-1, -1, 8), min_shape=(1, 1, 8), opt_shape=(2, 5, 8), max_shape=(4, 50, 8))
    helper.markOutput(helper(model, x), "y")
    return model, helper


def test_dispatch_matches_torch(built):
    model, helper = built
    x = torch.randn(3, 7, 8)
    got = helper.reference({"x": x})["y"]
    torch.testing.assert_close(got, model(x), rtol=1e-5, atol=1e-6)


def test_layer_names_follow_module_paths(built):
    _, helper = built
    names = [helper.network.get_layer(i).name for i in range(helper.network.num_layers)]
    for path in ("layers.0.w_1", "layers.1.w_2", "layers.1.activation", "head.0", "head.3", "head.4"):
        assert path in names, f"no layer named {path!r} in {names}"
    assert len(set(names)) == len(names)


def test_compare_table_finds_every_module(built):
    model, helper = built
    x = torch.randn(2, 4, 8)
    report = trt_helper.compare(trt_helper.capture(model, x), helper.reference({"x": x}, debug=True), rtol=1e-5)
    compared = {row.name for row in report}
    assert {"layers.0", "layers.0.w_1", "layers.1.w_2", "head", "head.0"} <= compared
    assert report.first_bad is None, str(report)


def test_compare_points_at_the_first_wrong_module(built):
    """Swap one weight of the model for another tensor after building (the network keeps the memory it was
    given): compare names that module first."""
    model, helper = built
    x = torch.randn(2, 4, 8)
    w_1 = model.layers[1].w_1
    w_1.weight = nn.Parameter(w_1.weight.detach() * 1.5)
    report = trt_helper.compare(trt_helper.capture(model, x), helper.reference({"x": x}, debug=True))
    assert report.first_bad is not None and report.first_bad.name == "layers.1.w_1", str(report)


def test_mark_debug_is_returned_by_name(built):
    model, helper = built
    helper2 = trt_helper.NetworkHelper(torch.float32, name="ffn")
    x = helper2.addInput("x", torch.float32, (2, 8))
    ffn = FeedForward()
    hidden = helper2(ffn.w_1, x)
    helper2.markDebug(hidden, "hidden")
    helper2.markOutput(helper2(ffn.w_2, hidden), "y")
    values = torch.randn(2, 8)
    torch.testing.assert_close(helper2.reference({"x": values}, debug=True)["hidden"], ffn.w_1(values))


def test_reference_rejects_bad_inputs(built):
    _, helper = built
    with pytest.raises(trt_helper.reference.ReferenceError, match="missing input 'x'"):
        helper.reference({})
    with pytest.raises(trt_helper.reference.ReferenceError, match="dtype torch.float16"):
        helper.reference({"x": torch.randn(2, 3, 8).half()})
    with pytest.raises(trt_helper.reference.ReferenceError, match=r"shape \(2, 3, 9\)"):
        helper.reference({"x": torch.randn(2, 3, 9)})
