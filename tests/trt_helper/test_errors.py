"""Bad input fails at the call site with the helper method, the module path and the shapes in the message."""

import pytest
import torch
from torch import nn

import trt_helper


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.w_1 = nn.Linear(8, 16)
        self.conv = nn.Conv1d(8, 8, 3)
        self.norm = nn.LayerNorm(8)
        self.embed = nn.Embedding(10, 8)
        self.bn = nn.BatchNorm1d(8)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Module()
        self.encoder.layers = nn.ModuleList([Block(), Block()])


@pytest.fixture
def setup():
    model = Model()
    helper = trt_helper.NetworkHelper(torch.float32, name="model")
    helper.setModel(model)
    x = helper.addInput("x", torch.float32, (2, 5, 8))
    return helper, model.encoder.layers[1], x


def _input(helper, name, dtype, shape):
    return helper.addInput(name, dtype, shape)


CASES = [
    # (id, callable(helper, block, x), exception, fragments that must appear in the message)
    (
        "linear_features",
        lambda h, b, x: h.addLinear(b.w_1, _input(h, "y", torch.float32, (2, 5, 7))),
        ValueError,
        ["addLinear", "encoder.layers.1.w_1", "(2, 5, 7)", "8"],
    ),
    (
        "linear_rank1",
        lambda h, b, x: h.addLinear(b.w_1, _input(h, "y", torch.float32, (8,))),
        ValueError,
        ["addLinear", "encoder.layers.1.w_1", "(8,)"],
    ),
    (
        "linear_int_input",
        lambda h, b, x: h.addLinear(b.w_1, _input(h, "y", torch.int32, (2, 8))),
        TypeError,
        ["addLinear", "encoder.layers.1.w_1", "int32", "(2, 8)"],
    ),
    ("linear_wrong_module", lambda h, b, x: h.addLinear(b.conv, x), TypeError, ["addLinear", "Conv1d"]),
    (
        "conv_rank",
        lambda h, b, x: h.addConv1d(b.conv, _input(h, "y", torch.float32, (8, 5))),
        ValueError,
        ["addConv1d", "encoder.layers.1.conv", "(8, 5)"],
    ),
    (
        "conv_channels",
        lambda h, b, x: h.addConv1d(b.conv, x),
        ValueError,
        ["addConv1d", "encoder.layers.1.conv", "(2, 5, 8)", "channels"],
    ),
    (
        "layer_norm_dims",
        lambda h, b, x: h.addLayerNorm(b.norm, _input(h, "y", torch.float32, (2, 5, 9))),
        ValueError,
        ["addLayerNorm", "encoder.layers.1.norm", "(2, 5, 9)", "(8,)"],
    ),
    (
        "layer_norm_impl",
        lambda h, b, x: h.addLayerNorm(b.norm, x, impl="fast"),
        ValueError,
        ["addLayerNorm", "encoder.layers.1.norm", "impl"],
    ),
    (
        "embedding_float_ids",
        lambda h, b, x: h.addEmbedding(b.embed, x),
        TypeError,
        ["addEmbedding", "encoder.layers.1.embed", "float32", "(2, 5, 8)"],
    ),
    (
        "batch_norm_channels",
        lambda h, b, x: h.addBatchNorm1d(b.bn, _input(h, "y", torch.float32, (2, 5, 7))),
        ValueError,
        ["addBatchNorm1d", "encoder.layers.1.bn", "(2, 5, 7)"],
    ),
    (
        "matmul_inner",
        lambda h, b, x: h.addMatMul(x, _input(h, "y", torch.float32, (2, 7, 3))),
        ValueError,
        ["addMatMul", "(2, 5, 8)", "(2, 7, 3)"],
    ),
    (
        "add_broadcast",
        lambda h, b, x: h.addAdd(x, _input(h, "y", torch.float32, (2, 4, 8))),
        ValueError,
        ["addAdd", "(2, 5, 8)", "(2, 4, 8)"],
    ),
    (
        "add_dtype",
        lambda h, b, x: h.addAdd(x, _input(h, "y", torch.float16, (2, 5, 8))),
        TypeError,
        ["addAdd", "float32", "float16", "addCast"],
    ),
    ("softmax_dim", lambda h, b, x: h.addSoftmax(x, 3), ValueError, ["addSoftmax", "dim 3", "(2, 5, 8)"]),
    ("reshape_size", lambda h, b, x: h.addReshape(x, (3, 7)), ValueError, ["addReshape", "(2, 5, 8)", "(3, 7)"]),
    ("permute_bad", lambda h, b, x: h.addPermute(x, (0, 0, 1)), ValueError, ["addPermute", "(2, 5, 8)"]),
    ("squeeze_not_one", lambda h, b, x: h.addSqueeze(x, 1), ValueError, ["addSqueeze", "(2, 5, 8)"]),
    (
        "concat_mismatch",
        lambda h, b, x: h.addConcat([x, _input(h, "y", torch.float32, (2, 6, 9))], 1),
        ValueError,
        ["addConcat", "(2, 5, 8)", "(2, 6, 9)"],
    ),
    ("split_sections", lambda h, b, x: h.addSplit(x, [3, 3], 2), ValueError, ["addSplit", "(2, 5, 8)"]),
    ("topk_k", lambda h, b, x: h.addTopK(x, 9, -1), ValueError, ["addTopK", "k=9", "(2, 5, 8)"]),
    ("glu_odd", lambda h, b, x: h.addGLU(x, 1), ValueError, ["addGLU", "(2, 5, 8)"]),
    (
        "mask_lengths_float",
        lambda h, b, x: h.addMaskFromLengths(_input(h, "y", torch.float32, (2,)), 5),
        TypeError,
        ["addMaskFromLengths", "float32", "(2,)"],
    ),
    ("where_condition", lambda h, b, x: h.addWhere(x, x, x), TypeError, ["addWhere", "bool"]),
    ("slice_step", lambda h, b, x: h.addSlice(x, 1, 0, 3, 0), ValueError, ["addSlice", "step"]),
    ("not_a_tensor", lambda h, b, x: h.addReLU(torch.zeros(3)), TypeError, ["addReLU", "ITensor", "Tensor"]),
    (
        "plugin_impl_on_rtx",
        lambda h, b, x: h.addLayerNorm(b.norm, x, impl="plugin"),
        RuntimeError,
        ["addLayerNorm", "encoder.layers.1.norm", "plugin"],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_message(setup, case):
    helper, block, x = setup
    _, call, exception, fragments = case
    if case[0] == "plugin_impl_on_rtx" and helper.backend.can_add_plugin_layers:
        pytest.skip("this backend can add plugin layers")
    with pytest.raises(exception) as info:
        call(helper, block, x)
    message = str(info.value)
    missing = [f for f in fragments if f not in message]
    assert not missing, f"message {message!r} lacks {missing}"


def test_error_inside_trt_forward_names_the_module_path():
    """An op called inside a module's trt_forward is reported at that module's path."""

    class Inner(nn.Module):
        def trt_forward(self, helper, x):
            return helper.addSoftmax(x, 5)

    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = Inner()

        def trt_forward(self, helper, x):
            return helper(self.attn, x)

    helper = trt_helper.NetworkHelper(torch.float32, name="m")
    x = helper.addInput("x", torch.float32, (2, 3))
    with pytest.raises(ValueError, match=r"addSoftmax at 'attn'.*\(2, 3\)"):
        helper(Outer(), x)


def test_unknown_module_type():
    helper = trt_helper.NetworkHelper(torch.float32)
    x = helper.addInput("x", torch.float32, (2, 3))
    with pytest.raises(TypeError, match="Fold.*trt_forward"):
        helper(nn.Fold((4, 4), 2), x)


@pytest.mark.parametrize(
    "kwargs,fragment",
    [
        (dict(shape=(-1, 8)), "min_shape, opt_shape and max_shape"),
        (dict(shape=(-1, 8), min_shape=(1, 8), opt_shape=(4, 8), max_shape=(2, 8)), "min <= opt <= max"),
        (dict(shape=(-1, 8), min_shape=(1, 9), opt_shape=(2, 9), max_shape=(4, 9)), "does not fit"),
    ],
)
def test_add_input_profiles(kwargs, fragment):
    helper = trt_helper.NetworkHelper(torch.float32)
    with pytest.raises(ValueError, match=fragment):
        helper.addInput("feat", torch.float32, **kwargs)


def test_network_dtype():
    with pytest.raises(TypeError, match="int32"):
        trt_helper.NetworkHelper(torch.int32)
