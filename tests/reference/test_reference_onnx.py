"""The reference executor against onnxruntime on ONNX models parsed by the backend's own ONNX parser.

Nobody here wrote either side of this comparison: NVIDIA's parser decides which TensorRT layers an ONNX op
becomes, onnxruntime computes the ONNX semantics; the test checks our reading of each layer.
"""

import numpy as np
import pytest
import torch

import trt_helper

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, numpy_helper  # noqa: E402
from onnx import helper as oh  # noqa: E402

FLOAT = TensorProto.FLOAT


def _model(nodes, inputs, outputs, initializers=()):
    """An opset-17 model; output types and shapes come from ONNX shape inference."""
    graph = oh.make_graph(nodes, "g", inputs, [], [numpy_helper.from_array(a, n) for n, a in initializers])
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 17)])
    model.ir_version = 8
    inferred = {v.name: v for v in onnx.shape_inference.infer_shapes(model).graph.value_info}
    model.graph.output.extend(inferred[name] for name in outputs)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _out(name):
    return name


def _vi(name, shape, elem=FLOAT):
    return oh.make_tensor_value_info(name, elem, shape)


def _check(model_bytes, feeds, shapes=None, rtol=1e-5, tmp_path=None):
    helper = trt_helper.NetworkHelper.fromOnnx(model_bytes, shapes=shapes)
    got = helper.reference({k: torch.from_numpy(v) for k, v in feeds.items()})
    want = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"]).run(None, feeds)
    names = [o.name for o in ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"]).get_outputs()]
    for name, w in zip(names, want):
        g = got[name].numpy()
        assert g.shape == w.shape, f"{name}: {g.shape} vs {w.shape}"
        if np.issubdtype(w.dtype, np.floating):
            err = np.abs(g - w).max() / max(np.abs(w).max(), 1e-30)
            assert err <= rtol, f"{name}: rel err {err:.2e}"
        else:
            np.testing.assert_array_equal(g, w)
    if tmp_path is not None:
        assert helper.build(tmp_path / "onnx.plan").plan_bytes > 0
    return helper


def _rand(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


@pytest.fixture
def rng():
    return np.random.default_rng()


def test_conv_relu(rng, tmp_path):
    w, b = _rand(rng, 6, 4, 3, 3), _rand(rng, 6)
    model = _model(
        [
            oh.make_node("Conv", ["x", "w", "b"], ["c"], strides=[2, 1], pads=[1, 0, 1, 2], group=2),
            oh.make_node("Relu", ["c"], ["y"]),
        ],
        [_vi("x", [2, 4, 9, 7])],
        [_out("y")],
        [("w", w[:, :2].copy()), ("b", b)],
    )
    _check(model, {"x": _rand(rng, 2, 4, 9, 7)}, tmp_path=tmp_path)


def test_conv1d_dilated(rng):
    model = _model(
        [oh.make_node("Conv", ["x", "w"], ["y"], dilations=[2], pads=[2, 2])],
        [_vi("x", [1, 3, 20])],
        [_out("y")],
        [("w", _rand(rng, 5, 3, 3))],
    )
    _check(model, {"x": _rand(rng, 1, 3, 20)})


def test_gemm_matmul(rng, tmp_path):
    model = _model(
        [
            oh.make_node("Gemm", ["x", "w", "b"], ["g"], transB=1, alpha=0.5, beta=2.0),
            oh.make_node("MatMul", ["g", "m"], ["y"]),
        ],
        [_vi("x", [3, 8])],
        [_out("y")],
        [("w", _rand(rng, 5, 8)), ("b", _rand(rng, 5)), ("m", _rand(rng, 5, 4))],
    )
    _check(model, {"x": _rand(rng, 3, 8)}, tmp_path=tmp_path)


def test_batched_matmul_dynamic(rng):
    model = _model(
        [oh.make_node("MatMul", ["a", "b"], ["y"])], [_vi("a", ["B", 2, 3, 4]), _vi("b", ["B", 2, 4, 5])], [_out("y")]
    )
    shapes = {"a": ((1, 2, 3, 4), (2, 2, 3, 4), (4, 2, 3, 4)), "b": ((1, 2, 4, 5), (2, 2, 4, 5), (4, 2, 4, 5))}
    helper = _check(model, {"a": _rand(rng, 3, 2, 3, 4), "b": _rand(rng, 3, 2, 4, 5)}, shapes)
    assert helper.profiles[0]["a"][2] == (4, 2, 3, 4)


def test_gather_negative_indices(rng):
    idx = np.array([[0, -1], [2, 1]], dtype=np.int64)
    model = _model(
        [oh.make_node("Gather", ["x", "i"], ["y0"], axis=1), oh.make_node("Gather", ["x", "j"], ["y1"], axis=0)],
        [_vi("x", [3, 4, 5])],
        [_out("y0"), _out("y1")],
        [("i", idx), ("j", np.array(-2, dtype=np.int64))],
    )
    _check(model, {"x": _rand(rng, 3, 4, 5)})


def test_slice_steps(rng):
    inits = [
        ("s", np.array([1, -1], dtype=np.int64)),
        ("e", np.array([100, -6], dtype=np.int64)),
        ("a", np.array([1, 2], dtype=np.int64)),
        ("st", np.array([2, -1], dtype=np.int64)),
    ]
    model = _model(
        [oh.make_node("Slice", ["x", "s", "e", "a", "st"], ["y"])], [_vi("x", [2, 9, 7])], [_out("y")], inits
    )
    _check(model, {"x": _rand(rng, 2, 9, 7)})


def test_reshape_transpose_flatten(rng):
    model = _model(
        [
            oh.make_node("Reshape", ["x", "shape"], ["r"]),
            oh.make_node("Transpose", ["r"], ["t"], perm=[0, 2, 1, 3]),
            oh.make_node("Flatten", ["t"], ["y"], axis=2),
        ],
        [_vi("x", [2, 6, 8])],
        [_out("y")],
        [("shape", np.array([0, 6, 2, -1], dtype=np.int64))],
    )
    _check(model, {"x": _rand(rng, 2, 6, 8)})


def test_reduce_softmax_log_softmax(rng):
    model = _model(
        [
            oh.make_node("ReduceMean", ["x"], ["m"], axes=[1], keepdims=1),
            oh.make_node("Sub", ["x", "m"], ["c"]),
            oh.make_node("Softmax", ["c"], ["y0"], axis=1),
            oh.make_node("LogSoftmax", ["x"], ["y1"], axis=-1),
            oh.make_node("ReduceMax", ["x"], ["y2"], axes=[0, 2], keepdims=0),
        ],
        [_vi("x", [3, 5, 7])],
        [_out("y0"), _out("y1"), _out("y2")],
    )
    _check(model, {"x": _rand(rng, 3, 5, 7) * 3})


def test_layer_normalization(rng, tmp_path):
    model = _model(
        [oh.make_node("LayerNormalization", ["x", "g", "b"], ["y"], axis=-1, epsilon=1e-5)],
        [_vi("x", [2, 5, 16])],
        [_out("y")],
        [("g", _rand(rng, 16)), ("b", _rand(rng, 16))],
    )
    _check(model, {"x": _rand(rng, 2, 5, 16) * 2 + 1}, tmp_path=tmp_path)


def test_where_greater_cast(rng):
    model = _model(
        [
            oh.make_node("Greater", ["x", "zero"], ["pos"]),
            oh.make_node("Where", ["pos", "x", "y_"], ["w"]),
            oh.make_node("Cast", ["pos"], ["y"], to=TensorProto.INT32),
        ],
        [_vi("x", [4, 6]), _vi("y_", [4, 6])],
        [_out("w"), _out("y")],
        [("zero", np.array(0.0, dtype=np.float32))],
    )
    _check(model, {"x": _rand(rng, 4, 6), "y_": _rand(rng, 4, 6)})


def test_concat_expand(rng):
    model = _model(
        [
            oh.make_node("Concat", ["a", "b"], ["c"], axis=1),
            oh.make_node("Expand", ["v", "shape"], ["e"]),
            oh.make_node("Add", ["c", "e"], ["y"]),
        ],
        [_vi("a", [2, 3, 4]), _vi("b", [2, 2, 4]), _vi("v", [1, 1, 4])],
        [_out("y")],
        [("shape", np.array([2, 5, 4], dtype=np.int64))],
    )
    _check(model, {"a": _rand(rng, 2, 3, 4), "b": _rand(rng, 2, 2, 4), "v": _rand(rng, 1, 1, 4)})


def test_torch_exported_block(rng, tmp_path):
    """A torch-exported block (linear, GELU, layer norm, attention-like softmax) through the parser."""

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = torch.nn.Linear(8, 8)
            self.norm = torch.nn.LayerNorm(8)

        def forward(self, x):
            h = torch.nn.functional.gelu(self.proj(x))
            scores = torch.softmax(h @ h.transpose(1, 2) / 8**0.5, dim=-1)
            return self.norm(scores @ h + x)

    path = tmp_path / "block.onnx"
    torch.onnx.export(
        Block().eval(),
        (torch.randn(2, 5, 8),),
        str(path),
        opset_version=17,
        dynamo=False,
        input_names=["x"],
        output_names=["y"],
    )
    _check(path.read_bytes(), {"x": _rand(rng, 2, 5, 8)}, rtol=1e-5, tmp_path=tmp_path)


def test_prelu_einsum_cumsum(rng):
    """Layers the helper never emits but other networks do: parametric ReLU, einsum, cumulative sum."""
    model = _model(
        [
            oh.make_node("PRelu", ["x", "slope"], ["p"]),
            oh.make_node("Einsum", ["p", "w"], ["e"], equation="bij,jk->bik"),
            oh.make_node("CumSum", ["e", "axis"], ["y0"]),
            oh.make_node("CumSum", ["e", "axis"], ["y1"], exclusive=1, reverse=1),
        ],
        [_vi("x", [2, 3, 4])],
        [_out("y0"), _out("y1")],
        [("slope", _rand(rng, 4) * 0.1), ("w", _rand(rng, 4, 5)), ("axis", np.array(1, dtype=np.int64))],
    )
    _check(model, {"x": _rand(rng, 2, 3, 4)})


def test_batch_norm_and_pad(rng):
    """ONNX BatchNormalization and Pad, whichever TensorRT layers the parser picks for them."""
    c = 3
    model = _model(
        [
            oh.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["n"], epsilon=1e-3),
            oh.make_node("Pad", ["n", "pads", "value"], ["y"], mode="constant"),
        ],
        [_vi("x", [2, c, 5, 6])],
        [_out("y")],
        [
            ("s", _rand(rng, c)),
            ("b", _rand(rng, c)),
            ("m", _rand(rng, c)),
            ("v", np.abs(_rand(rng, c)) + 0.5),
            ("pads", np.array([0, 0, 1, 2, 0, 0, 2, 1], dtype=np.int64)),
            ("value", np.array(0.5, dtype=np.float32)),
        ],
    )
    helper = _check(model, {"x": _rand(rng, 2, c, 5, 6)})
    kinds = {helper.network.get_layer(i).type.name for i in range(helper.network.num_layers)}
    assert kinds & {"SCALE", "ELEMENTWISE", "NORMALIZATION"}, kinds
