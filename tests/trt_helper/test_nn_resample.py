"""Upsampling and pixel shuffles by helper(module, x) vs torch."""

import pytest
import torch
from nn_harness import check_modules, dyn_spec
from op_harness import randn
from torch import nn

from trt_helper import NetworkHelper


def test_upsample_2d(dtype, gen, tmp_path):
    modules = [
        nn.Upsample(scale_factor=2),
        nn.Upsample(scale_factor=(1.5, 3)),
        nn.Upsample(size=(7, 5)),
        nn.Upsample(scale_factor=2, mode="nearest-exact"),
        nn.Upsample(scale_factor=2, mode="bilinear"),
        nn.Upsample(size=(9, 4), mode="bilinear", align_corners=True),
        nn.Upsample(scale_factor=(0.5, 2), mode="bilinear"),
        nn.Upsample(scale_factor=2, mode="bicubic"),
        nn.Upsample(size=(6, 7), mode="bicubic", align_corners=True),
        nn.UpsamplingNearest2d(scale_factor=3),
        nn.UpsamplingBilinear2d(size=(5, 8)),
    ]
    sizes = [{"x": randn(gen, 2, 3, 4, 6)}, {"x": randn(gen, 1, 3, 6, 5)}]
    check_modules(dtype, modules, {"x": dyn_spec((2, 3, 4, 6), {0: 1, 2: 2, 3: 2})}, sizes, tmp_path)


def test_upsample_1d(dtype, gen, tmp_path):
    modules = [
        nn.Upsample(scale_factor=2),
        nn.Upsample(size=11),
        nn.Upsample(scale_factor=2.5, mode="linear"),
        nn.Upsample(size=9, mode="linear", align_corners=True),
    ]
    sizes = [{"x": randn(gen, 2, 3, 5)}, {"x": randn(gen, 3, 3, 8)}]
    check_modules(dtype, modules, {"x": dyn_spec((2, 3, 5), {0: 1, 2: 2})}, sizes, tmp_path, build=False)


def test_pixel_shuffle(dtype, gen, tmp_path):
    modules = [
        nn.PixelShuffle(2),
        nn.PixelShuffle(1),
        nn.Sequential(nn.PixelUnshuffle(2), nn.PixelShuffle(2)),
        nn.Sequential(nn.PixelShuffle(2), nn.PixelUnshuffle(2)),
    ]
    sizes = [{"x": randn(gen, 2, 8, 4, 6)}, {"x": randn(gen, 1, 8, 6, 2)}]
    check_modules(dtype, modules, {"x": dyn_spec((2, 8, 4, 6), {0: 1, 2: 2, 3: 2})}, sizes, tmp_path)
    sizes = [{"x": randn(gen, 2, 3, 4, 6)}, {"x": randn(gen, 1, 3, 8, 2)}]
    check_modules(
        dtype, [nn.PixelUnshuffle(2)], {"x": dyn_spec((2, 3, 4, 6), {0: 1, 2: 2, 3: 2})}, sizes, tmp_path, build=False
    )


@pytest.mark.parametrize(
    "module,shape,message",
    [
        (nn.Upsample(scale_factor=2, mode="area"), (2, 3, 4, 4), r"mode='area' is not supported"),
        (nn.Upsample(scale_factor=2, mode="bilinear"), (2, 3, 4), r"mode='bilinear' needs a rank-4 input"),
        (nn.Upsample(scale_factor=2, recompute_scale_factor=True), (2, 3, 4), r"recompute_scale_factor=True"),
        (nn.PixelShuffle(2), (2, 6, 4, 4), "divisible by 4"),
    ],
)
def test_resample_errors(module, shape, message):
    helper = NetworkHelper(torch.float32, name="net")
    x = helper.addInput("x", torch.float32, shape)
    with pytest.raises(ValueError, match=message):
        helper(module, x)
