"""trt_helper.quant.calibrate: absmax against direct computation, through the reference executor against the
PyTorch path."""

import re

import pytest
import torch
from torch import nn

import trt_helper
from trt_helper.quant.calibrate import calibrate, calibrate_network, collect_inputs


def _model_and_batches(gen):
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 8))
    return model, [torch.randn(5, 3, 16, generator=gen) for _ in range(3)]


def test_calibrate_absmax(gen):
    model, batches = _model_and_batches(gen)
    amax = calibrate(model, lambda m: [m(b) for b in batches])
    x = torch.cat([b.reshape(-1, 16) for b in batches])
    assert torch.equal(amax["0"], x.abs().amax(0))
    assert torch.allclose(amax["2"], torch.relu(model[0](x)).abs().amax(0))
    assert calibrate(model, lambda m: [m(b) for b in batches], per_channel=False)["0"] == x.abs().max()
    rows = collect_inputs(model, lambda m: [m(b) for b in batches], max_rows=20)
    assert rows["0"].shape == (20, 16) and rows["2"].shape == (20, 32)
    with pytest.raises(ValueError, match=re.escape("calibrate: run(model) reached no ['Conv1d'] module")):
        calibrate(model, lambda m: m(batches[0]), types=(nn.Conv1d,))


def test_calibrate_network_equals_pytorch(gen):
    """The same absmax from the network through the reference executor as from the PyTorch model (fp32)."""
    model, batches = _model_and_batches(gen)
    helper = trt_helper.NetworkHelper(torch.float32, name="mlp")
    x = helper.addInput(
        "x", torch.float32, (-1, 3, 16), min_shape=(1, 3, 16), opt_shape=(5, 3, 16), max_shape=(8, 3, 16)
    )
    helper.markOutput(helper(model, x), "y")
    feeds = [{"x": b} for b in batches]
    for per_channel, output in ((True, False), (False, False), (True, True)):
        want = calibrate(model, lambda m: [m(b) for b in batches], per_channel=per_channel, output=output)
        got = calibrate_network(helper, feeds, per_channel=per_channel, output=output)
        assert set(got) == set(want) == {"0", "2"}
        for path in want:
            assert got[path].shape == want[path].shape and trt_helper.rel_error(got[path], want[path]) <= 2e-6, path
    with pytest.raises(
        ValueError, match=re.escape("calibrate_network: network 'mlp' has no helper(module, x) call of ['Conv1d']")
    ):
        calibrate_network(helper, feeds, types=(nn.Conv1d,))
