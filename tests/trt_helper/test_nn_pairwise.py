"""Two-input modules (CosineSimilarity, PairwiseDistance, Bilinear) and ChannelShuffle by helper(module, ...) vs
torch."""

import torch
from nn_harness import check_modules, dyn_spec
from op_harness import randn
from torch import nn


def test_two_input_modules(dtype, gen, tmp_path):
    bilinear = nn.Bilinear(6, 6, 4)
    with torch.no_grad():
        bilinear.weight.normal_(0, 0.3, generator=gen)
    modules = [
        nn.CosineSimilarity(dim=-1),
        nn.CosineSimilarity(dim=1, eps=1e-3),
        nn.PairwiseDistance(),
        nn.PairwiseDistance(p=1.5, keepdim=True),
        nn.PairwiseDistance(p=float("inf")),
        bilinear,
        nn.Bilinear(6, 6, 3, bias=False),
    ]
    specs = {"a": dyn_spec((2, 5, 6), {0: 1, 1: 1}), "b": dyn_spec((2, 5, 6), {0: 1, 1: 1})}
    sizes = [{"a": randn(gen, 2, 5, 6), "b": randn(gen, 2, 5, 6)}, {"a": randn(gen, 3, 1, 6), "b": randn(gen, 3, 1, 6)}]
    check_modules(dtype, modules, specs, sizes, tmp_path)


def test_channel_shuffle(dtype, gen, tmp_path):
    sizes = [{"x": randn(gen, 2, 6, 4, 5)}, {"x": randn(gen, 1, 6, 3, 7)}]
    specs = {"x": dyn_spec((2, 6, 4, 5), {0: 1, 2: 1, 3: 1})}
    check_modules(dtype, [nn.ChannelShuffle(2), nn.ChannelShuffle(3)], specs, sizes, tmp_path, build=False)
