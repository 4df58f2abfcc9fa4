"""Pads, convolutions with every padding mode, and transposed convolutions by helper(module, x) vs torch."""

import pytest
import torch
from nn_harness import check_modules
from op_harness import randn, spec
from torch import nn

from trt_helper import NetworkHelper


def _randomize(modules, gen):
    with torch.no_grad():
        for m in modules:
            for p in m.parameters():
                p.normal_(0, 0.3, generator=gen)
    return modules


def test_pads_1d(dtype, gen, tmp_path):
    modules = [
        nn.ZeroPad1d((2, 1)),
        nn.ConstantPad1d(3, -1.5),
        nn.ReflectionPad1d((3, 1)),
        nn.ReplicationPad1d((0, 4)),
        nn.CircularPad1d(2),
        nn.ConstantPad1d((-1, 2), 0.5),
        nn.Dropout1d(),
    ]
    sizes = [{"x": randn(gen, 2, 3, 5)}, {"x": randn(gen, 1, 3, 9)}]
    check_modules(dtype, modules, {"x": spec((2, 3, 5), (0, 2))}, sizes, tmp_path)


def test_pads_2d(dtype, gen, tmp_path):
    modules = [
        nn.ZeroPad2d((1, 2, 0, 3)),
        nn.ConstantPad2d(2, 0.25),
        nn.ReflectionPad2d((2, 1, 1, 3)),
        nn.ReplicationPad2d(2),
        nn.CircularPad2d((1, 0, 2, 1)),
    ]
    sizes = [{"x": randn(gen, 2, 3, 5, 6)}, {"x": randn(gen, 1, 2, 4, 7)}]
    check_modules(dtype, modules, {"x": spec((2, 3, 5, 6), (0, 1, 2, 3))}, sizes, tmp_path)


def test_pads_3d(dtype, gen, tmp_path):
    modules = [
        nn.ZeroPad3d((1, 0, 0, 2, 1, 1)),
        nn.ConstantPad3d(1, 2.0),
        nn.ReflectionPad3d((1, 1, 2, 0, 0, 1)),
        nn.ReplicationPad3d(1),
        nn.CircularPad3d((0, 1, 1, 0, 1, 1)),
    ]
    sizes = [{"x": randn(gen, 2, 2, 3, 4, 5)}, {"x": randn(gen, 1, 2, 4, 3, 3)}]
    check_modules(dtype, modules, {"x": spec((2, 2, 3, 4, 5), (0, 2, 3, 4))}, sizes, tmp_path, build=False)


def test_conv1d_padding_modes(dtype, gen, tmp_path):
    modules = _randomize(
        [nn.Conv1d(4, 5, 3, padding=1, padding_mode=mode) for mode in ("zeros", "reflect", "replicate", "circular")]
        + [
            nn.Conv1d(4, 5, 4, padding="same"),
            nn.Conv1d(4, 5, 4, padding="same", padding_mode="reflect"),
            nn.Conv1d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2, padding_mode="replicate"),
            nn.Conv1d(4, 5, 3, padding="valid", bias=False),
        ],
        gen,
    )
    sizes = [{"x": randn(gen, 2, 4, 11)}, {"x": randn(gen, 3, 4, 20)}]
    check_modules(dtype, modules, {"x": spec((2, 4, 11), (0, 2))}, sizes, tmp_path)


def test_conv2d_padding_modes(dtype, gen, tmp_path):
    modules = _randomize(
        [
            nn.Conv2d(4, 3, (3, 5), padding=(1, 2), padding_mode=mode)
            for mode in ("zeros", "reflect", "replicate", "circular")
        ]
        + [
            nn.Conv2d(4, 3, (2, 3), padding="same", dilation=(1, 2)),
            nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2, padding_mode="reflect"),
        ],
        gen,
    )
    sizes = [{"x": randn(gen, 2, 4, 7, 9)}, {"x": randn(gen, 1, 4, 10, 6)}]
    check_modules(dtype, modules, {"x": spec((2, 4, 7, 9), (0, 2, 3))}, sizes, tmp_path)


def test_conv_transpose(dtype, gen, tmp_path):
    modules = _randomize(
        [
            nn.ConvTranspose1d(4, 6, 3),
            nn.ConvTranspose1d(4, 6, 4, stride=2, padding=1),
            nn.ConvTranspose1d(4, 6, 3, stride=3, padding=1, output_padding=2, groups=2),
            nn.ConvTranspose1d(4, 6, 3, padding=3, dilation=2),
            nn.ConvTranspose1d(4, 5, 5, stride=2, padding=2, output_padding=1, bias=False),
        ],
        gen,
    )
    sizes = [{"x": randn(gen, 2, 4, 6)}, {"x": randn(gen, 1, 4, 11)}]
    check_modules(dtype, modules, {"x": spec((2, 4, 6), (0, 2))}, sizes, tmp_path)


def test_conv_transpose2d(dtype, gen, tmp_path):
    modules = _randomize(
        [
            nn.ConvTranspose2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0), output_padding=(1, 0)),
            nn.ConvTranspose2d(4, 4, 2, stride=2, groups=4),
            nn.ConvTranspose2d(4, 3, 3, stride=2, output_padding=1),
        ],
        gen,
    )
    sizes = [{"x": randn(gen, 2, 4, 5, 6)}, {"x": randn(gen, 1, 4, 3, 8)}]
    check_modules(dtype, modules, {"x": spec((2, 4, 5, 6), (0, 2, 3))}, sizes, tmp_path)


@pytest.mark.parametrize(
    "module,shape,message",
    [
        (nn.ReflectionPad1d(5), (2, 3, 5), r"reflect padding \(5, 5\) of dim 2 must be below its size"),
        (nn.ZeroPad2d(1), (5, 6), "rank 3 or 4"),
        (nn.ConvTranspose1d(4, 3, 3), (2, 3, 5), "3 channels in dim 1, the module expects 4"),
        (nn.ConvTranspose2d(4, 3, 3, stride=2, dilation=2), (2, 4, 5, 5), r"stride=\(2, 2\) with dilation=\(2, 2\)"),
    ],
)
def test_pad_and_conv_errors(module, shape, message):
    helper = NetworkHelper(torch.float32, name="net")
    x = helper.addInput("x", torch.float32, shape)
    with pytest.raises(ValueError, match=message):
        helper(module, x)
