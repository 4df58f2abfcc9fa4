"""Normalization modules by helper(module, x) vs torch (eval mode)."""

import pytest
import torch
from nn_harness import check_modules, dyn_spec
from op_harness import randn
from torch import nn

from trt_helper import NetworkHelper


def _randomize(modules, gen):
    with torch.no_grad():
        for m in modules:
            for p in m.parameters():
                p.normal_(0, 1, generator=gen)
            if getattr(m, "running_mean", None) is not None:
                m.running_mean.normal_(generator=gen)
                m.running_var.uniform_(0.5, 2.0, generator=gen)
    return modules


def test_norms_2d(dtype, gen, tmp_path):
    modules = _randomize(
        [
            nn.BatchNorm2d(4),
            nn.BatchNorm2d(4, affine=False),
            nn.InstanceNorm2d(4),
            nn.InstanceNorm2d(4, affine=True, eps=1e-3),
            nn.InstanceNorm2d(4, track_running_stats=True),
            nn.GroupNorm(2, 4),
            nn.GroupNorm(1, 4, affine=False),
            nn.GroupNorm(4, 4, eps=1e-2),
            nn.LayerNorm((5, 6)),
            nn.LayerNorm((4, 5, 6), elementwise_affine=False),
        ],
        gen,
    )
    sizes = [{"x": randn(gen, 2, 4, 5, 6) * 2 + 1}, {"x": randn(gen, 3, 4, 5, 6)}]
    check_modules(dtype, modules, {"x": dyn_spec((2, 4, 5, 6), {0: 1})}, sizes, tmp_path)


def test_norms_1d(dtype, gen, tmp_path):
    """Dynamic length: instance and group statistics over a run-time number of values."""
    modules = _randomize(
        [nn.InstanceNorm1d(6), nn.InstanceNorm1d(6, affine=True), nn.GroupNorm(3, 6), nn.BatchNorm1d(6)], gen
    )
    sizes = [{"x": randn(gen, 2, 6, 7) * 3}, {"x": randn(gen, 1, 6, 20)}]
    check_modules(dtype, modules, {"x": dyn_spec((2, 6, 7), {0: 1, 2: 2})}, sizes, tmp_path)


def test_group_norm_2d_input(dtype, gen, tmp_path):
    modules = _randomize([nn.GroupNorm(2, 8)], gen)
    sizes = [{"x": randn(gen, 3, 8)}, {"x": randn(gen, 5, 8)}]
    check_modules(dtype, modules, {"x": dyn_spec((3, 8), {0: 1})}, sizes, tmp_path, build=False)


@pytest.mark.parametrize(
    "module,shape,message",
    [
        (nn.BatchNorm2d(4), (2, 4, 5), "rank 4"),
        (nn.GroupNorm(2, 6), (2, 4, 5), "4 channels in dim 1, the module expects 6"),
        (nn.BatchNorm2d(4, track_running_stats=False), (2, 4, 5, 5), "track_running_stats=False"),
    ],
)
def test_norm_errors(module, shape, message):
    helper = NetworkHelper(torch.float32, name="net")
    x = helper.addInput("x", torch.float32, shape)
    with pytest.raises(ValueError, match=message):
        helper(module.eval(), x)
