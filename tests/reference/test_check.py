"""``python -m trt_helper.check``: it names the ONNX node and TensorRT layer where the parser's import departs
from ONNX (Trilu, whose upper=1 the parser builds as upper=0), and agrees on a model that imports correctly."""

import numpy as np
import pytest
import torch

from trt_helper import check

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


def test_check_pinpoints_trilu_on_test_triu(node_cases, tmp_path, capsys):
    path = tmp_path / "test_triu.onnx"
    onnx.save(node_cases["test_triu"].model, str(path))
    assert check.main([str(path)]) == 1
    printed = capsys.readouterr().out
    assert "first difference: ONNX node '#0' (Trilu)" in printed, printed
    assert "TensorRT layer" in printed and "(SELECT)" in printed, printed


class _Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv1d(3, 6, 3, padding=1)
        self.norm = torch.nn.LayerNorm(6)

    def forward(self, x):
        h = torch.nn.functional.gelu(self.conv(x)).transpose(1, 2)
        return torch.softmax(self.norm(h) @ h.transpose(1, 2), -1)


@pytest.fixture(scope="module")
def block_onnx(tmp_path_factory):
    """A conv / GELU / layer-norm / attention-like block exported with a dynamic batch and time."""
    path = tmp_path_factory.mktemp("check") / "block.onnx"
    torch.onnx.export(
        _Block().eval(),
        (torch.randn(2, 3, 7),),
        str(path),
        opset_version=17,
        dynamo=False,
        input_names=["x"],
        output_names=["y"],
        dynamic_axes={"x": {0: "batch", 2: "time"}},
    )
    return path


def test_check_agrees_on_a_model_that_imports_correctly(block_onnx, capsys):
    assert check.main([str(block_onnx), "--shapes", "x:1x3x4,2x3x7,4x3x16", "--all"]) == 0
    printed = capsys.readouterr().out
    assert "agree:" in printed and "BAD" not in printed, printed
    assert printed.count("ok ") >= 5, printed  # conv, gelu, layer norm, matmul, softmax outputs were compared


def test_check_reads_inputs_from_npz_and_reports_unknown_dynamic_shapes(block_onnx, tmp_path, capsys):
    inputs = tmp_path / "inputs.npz"
    np.savez(inputs, x=np.random.default_rng(1).standard_normal((3, 3, 5)).astype(np.float32))
    assert check.main([str(block_onnx), "--inputs", str(inputs), "--shapes", "x:1x3x4,3x3x5,4x3x16"]) == 0
    assert check.main([str(block_onnx)]) == 2
    assert "give --shapes x:min,opt,max" in capsys.readouterr().err
