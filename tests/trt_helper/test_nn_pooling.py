"""Pooling modules by helper(module, x) vs torch."""

import pytest
import torch
from nn_harness import check_modules, dyn_spec
from op_harness import randn, spec
from torch import nn

from trt_helper import NetworkHelper


def test_pool1d(dtype, gen, tmp_path):
    modules = [
        nn.MaxPool1d(3),
        nn.MaxPool1d(3, 2, 1),
        nn.MaxPool1d(4, 3, 2, ceil_mode=True),
        nn.AvgPool1d(2),
        nn.AvgPool1d(3, 2, 1),
        nn.AvgPool1d(3, 2, 1, count_include_pad=False),
        nn.AvgPool1d(4, 3, 1, ceil_mode=True),
        nn.AdaptiveAvgPool1d(1),
        nn.AdaptiveMaxPool1d(1),
    ]
    sizes = [{"x": randn(gen, 2, 3, 10)}, {"x": randn(gen, 1, 3, 17)}]
    check_modules(dtype, modules, {"x": dyn_spec((2, 3, 10), {0: 1, 2: 4})}, sizes, tmp_path)


def test_pool2d(dtype, gen, tmp_path):
    modules = [
        nn.MaxPool2d(2),
        nn.MaxPool2d((3, 2), (2, 1), (1, 0)),
        nn.MaxPool2d(3, 2, 1, ceil_mode=True),
        nn.AvgPool2d(2),
        nn.AvgPool2d((3, 3), 2, 1, count_include_pad=False),
        nn.AvgPool2d(3, 2, 1, ceil_mode=True),
        nn.AdaptiveAvgPool2d(1),
        nn.AdaptiveMaxPool2d((1, None)),
    ]
    sizes = [{"x": randn(gen, 2, 3, 9, 8)}, {"x": randn(gen, 1, 3, 12, 7)}]
    check_modules(dtype, modules, {"x": dyn_spec((2, 3, 9, 8), {0: 1, 2: 4, 3: 4})}, sizes, tmp_path)


def test_adaptive_static(dtype, gen, tmp_path):
    """Output sizes other than 1 on static spatial dims (dynamic batch), overlapping average windows included."""
    modules = [
        nn.AdaptiveAvgPool2d((3, 4)),
        nn.AdaptiveAvgPool2d(5),
        nn.AdaptiveMaxPool2d((2, 4)),
        nn.AdaptiveAvgPool2d((None, 3)),
    ]
    sizes = [{"x": randn(gen, 2, 3, 10, 8)}, {"x": randn(gen, 5, 3, 10, 8)}]
    check_modules(dtype, modules, {"x": spec((2, 3, 10, 8), (0,))}, sizes, tmp_path)
    modules = [nn.AdaptiveAvgPool1d(4), nn.AdaptiveMaxPool1d(3)]
    sizes = [{"x": randn(gen, 2, 3, 9)}, {"x": randn(gen, 4, 3, 9)}]
    check_modules(dtype, modules, {"x": spec((2, 3, 9), (0,))}, sizes, tmp_path, build=False)


@pytest.mark.parametrize(
    "module,shape,message",
    [
        (nn.MaxPool2d(2, dilation=2), (2, 3, 8, 8), r"MaxPool2d\(dilation=2\) is not supported"),
        (nn.MaxPool1d(2, return_indices=True), (2, 3, 8), r"return_indices=True"),
        (nn.AvgPool2d(2, divisor_override=3), (2, 3, 8, 8), r"divisor_override=3"),
        (nn.AdaptiveAvgPool1d(3), (2, 3, -1), r"output_size=3\) needs a static size in dim 2"),
        (nn.AdaptiveMaxPool1d(4), (2, 3, 9), "not a multiple of 4"),
    ],
)
def test_pool_errors(module, shape, message):
    helper = NetworkHelper(torch.float32, name="net")
    x = helper.addInput("x", torch.float32, shape, *([(2, 3, 1), (2, 3, 8), (2, 3, 9)] if -1 in shape else []))
    with pytest.raises(ValueError, match=message):
        helper(module, x)
