"""SmoothQuant W8A8: smoothing keeps the float function; the network equals torch fake quantization of the
smoothed model; smoothing lowers the W8A8 error when a few channels carry outliers."""

import pytest
import torch
from torch import nn

import trt_helper
from trt_helper.quant.smoothquant import smoothquant


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln = nn.LayerNorm(64)
        self.fc = nn.Linear(64, 32)
        with torch.no_grad():
            self.ln.weight[:4] = 40.0  # outlier channels, as in transformer activations,
            self.fc.weight[:, :4] /= 40.0  # whose weights are small: every channel matters to the output

    def forward(self, x):
        return self.fc(self.ln(x))

    def trt_forward(self, helper, x):
        return helper(self.fc, helper(self.ln, x))


def _w8a8_reference(model, quantized, x):
    """Torch fake quantization of the smoothed model, and how far each output may move when an activation within
    1e-3 of a rounding tie rounds the other way: LayerNorm's summation order differs between CPUs (a CI machine
    flipped one such activation, moving the output by 1.5e-3 relative)."""
    qw = quantized["fc"]
    h = model.ln(x) / qw.act_scale
    near_tie = ((h - h.floor()) - 0.5).abs() < 1e-3
    w = qw.dequantize()
    fake_quantized = nn.functional.linear(torch.round(h).clamp(-128, 127) * qw.act_scale, w, model.fc.bias)
    return fake_quantized.detach(), (near_tie.float() @ w.abs().T * qw.act_scale).detach()


def _network(model, quantized):
    helper = trt_helper.NetworkHelper(torch.float32, name="block", quantized=quantized)
    x = helper.addInput("x", torch.float32, (-1, 64), min_shape=(1, 64), opt_shape=(8, 64), max_shape=(64, 64))
    helper.markOutput(helper(model, x), "y")
    return helper


def test_smoothquant(gen, tmp_path):
    model = Block()
    calib, test = torch.randn(64, 64, generator=gen), torch.randn(16, 64, generator=gen)
    want = model(test).detach()
    errors = {}
    for alpha in (0.0, 0.5):
        smoothed, quantized = smoothquant(model, lambda m: m(calib), [("ln", ["fc"])], alpha=alpha)
        assert trt_helper.rel_error(smoothed(test), want) <= 1e-5  # smoothing alone changes nothing
        helper = _network(smoothed, quantized)
        got = helper.reference({"x": test})["y"]
        reference, tie_slack = _w8a8_reference(smoothed, quantized, test)
        assert ((got - reference).abs() <= tie_slack + 1e-5 * reference.abs().max()).all()
        errors[alpha] = trt_helper.rel_error(got, want)
    _, plain = smoothquant(model, lambda m: m(calib), [], alpha=0.5)
    errors["none"] = trt_helper.rel_error(_network(model, plain).reference({"x": test})["y"], want)
    # over 300 seeds errors[0.5] / errors["none"] was 0.02 to 0.45
    assert 1e-5 < errors[0.5] < 0.6 * errors["none"], errors
    assert helper.build(tmp_path / "w8a8.plan").plan_bytes > 0


def test_smoothquant_errors():
    with pytest.raises(ValueError, match=r"smoothquant: no module \['ln2'\] in the model"):
        smoothquant(Block(), lambda m: m(torch.ones(2, 64)), [("ln2", ["fc"])])
    with pytest.raises(ValueError, match=r"smoothquant: alpha=1.5 must be in \[0, 1\]"):
        smoothquant(Block(), lambda m: m(torch.ones(2, 64)), [], alpha=1.5)
