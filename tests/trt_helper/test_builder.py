"""The builder: atomic plan files, reports, targets, profiles."""

import os

import pytest
import torch
from torch import nn

import trt_helper
from trt_helper.builder import DEFAULT_RTX_TARGETS


def _ffn_helper(dtype=torch.float32):
    helper = trt_helper.NetworkHelper(dtype, name="ffn")
    x = helper.addInput("x", torch.float32, (-1, 8), min_shape=(1, 8), opt_shape=(4, 8), max_shape=(16, 8))
    helper.markOutput(helper.addCast(helper(nn.Linear(8, 4), helper.addCast(x, dtype)), torch.float32), "y")
    return helper


def test_build_writes_plan_and_report(tmp_path):
    helper = _ffn_helper()
    report = helper.build(tmp_path / "sub" / "ffn.plan")
    path = tmp_path / "sub" / "ffn.plan"
    assert path.stat().st_size == report.plan_bytes > 1000
    assert report.layers == helper.network.num_layers
    assert report.seconds > 0
    if helper.backend.has_aot_targets:
        assert report.targets == DEFAULT_RTX_TARGETS
    assert sorted(os.listdir(tmp_path / "sub")) == ["ffn.plan", "ffn.plan.json"]  # the sidecar, no temporary file
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert "ffn.plan" in str(report) and "layers" in str(report)


@pytest.mark.parametrize("targets,expected", [(["sm_89"], ("SM89",)), ([86, "SM120"], ("SM86", "SM120"))])
def test_targets(tmp_path, targets, expected):
    helper = _ffn_helper()
    if not helper.backend.has_aot_targets:
        pytest.skip("standard TensorRT builds for the GPU it runs on")
    assert helper.build(tmp_path / "a.plan", targets=targets).targets == expected


def test_unknown_target(tmp_path):
    helper = _ffn_helper()
    if not helper.backend.has_aot_targets:
        pytest.skip("standard TensorRT builds for the GPU it runs on")
    with pytest.raises(ValueError, match="unknown target 'SM42'"):
        helper.build(tmp_path / "a.plan", targets=["SM42"])
    assert not any(tmp_path.iterdir())


def test_failed_build_leaves_nothing(tmp_path):
    """A network without outputs, and one the builder rejects, write no file at all."""
    helper = trt_helper.NetworkHelper(torch.float32)
    helper.addInput("x", torch.float32, (2, 8))
    with pytest.raises(ValueError, match="no outputs"):
        helper.build(tmp_path / "none.plan")
    helper = trt_helper.NetworkHelper(torch.float32, name="bad_reshape")
    x = helper.addInput("x", torch.float32, (-1, 8), min_shape=(1, 8), opt_shape=(1, 8), max_shape=(1, 8))
    helper.markOutput(helper.addReshape(x, (3, -1)), "y")  # 8 is not a multiple of 3: only the builder sees it
    (tmp_path / "keep.plan").write_bytes(b"old")
    with pytest.raises(RuntimeError, match="bad_reshape.*no integer solution"):
        helper.build(tmp_path / "keep.plan")
    assert (tmp_path / "keep.plan").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.plan"]


def test_missing_profile_names_input(tmp_path):
    helper = _ffn_helper()
    helper.addProfile({"x": ((1, 8), (2, 8), (2, 8))})
    helper.addInput("lengths", torch.int32, (-1,), min_shape=(1,), opt_shape=(1,), max_shape=(4,))
    with pytest.raises(ValueError, match=r"profile 1 .*\['lengths'\]"):
        helper.build(tmp_path / "p.plan")


def test_two_profiles(tmp_path):
    helper = _ffn_helper()
    assert helper.addProfile({"x": ((16, 8), (32, 8), (64, 8))}) == 1
    assert helper.profiles[1] == {"x": ((16, 8), (32, 8), (64, 8))}
    report = helper.build(tmp_path / "p.plan")
    assert report.profiles == 2 and report.plan_bytes == (tmp_path / "p.plan").stat().st_size


def test_a_profile_missing_a_dynamic_input_is_refused(tmp_path):
    helper = _ffn_helper()
    helper.profiles.append({})
    with pytest.raises(ValueError, match=r"profile 1 has no min/opt/max shapes for inputs \['x'\]"):
        helper.build(tmp_path / "p.plan")
    assert not (tmp_path / "p.plan").exists()


def test_add_profile_unknown_input():
    helper = _ffn_helper()
    with pytest.raises(ValueError, match="no network input named 'feats'"):
        helper.addProfile({"feats": ((1, 8), (1, 8), (1, 8))})


def test_engine_without_gpu_says_why(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="needs a CUDA GPU"):
        trt_helper.Engine(tmp_path / "x.plan")


def test_progress_bars_and_bf16(tmp_path, capsys):
    """A bf16 network with the progress monitor on: the bars are drawn, and the reference matches torch within bf16
    rounding."""
    from torch import nn

    module = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.LayerNorm(16)).eval()
    helper = trt_helper.NetworkHelper(torch.bfloat16, name="bf16")
    x = helper.addInput("x", torch.float32, (-1, 8), min_shape=(1, 8), opt_shape=(4, 8), max_shape=(16, 8))
    y = helper.addSoftmax(helper(module, helper.addCast(x, torch.bfloat16)), -1)
    helper.markOutput(helper.addCast(y, torch.float32), "y")
    assert helper.build(tmp_path / "bf16.plan", progress=True).plan_bytes > 0
    bars = capsys.readouterr().err
    assert "it/s]" in bars or "s/it]" in bars, f"no tqdm bar on stderr: {bars!r}"
    values = torch.randn(5, 8)
    want = torch.softmax(module(values), -1)
    got = helper.reference({"x": values})["y"]
    assert (got - want).abs().max() / want.abs().max() < 3e-2


def test_write_error_leaves_nothing(tmp_path, monkeypatch):
    """A plan that cannot be written (a full disk) raises the OS error and leaves no file behind."""
    import errno

    import trt_helper.builder as builder

    real_fdopen = builder.os.fdopen

    class FullDisk:
        def __init__(self, fd, mode):
            self.file = real_fdopen(fd, mode)

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

    monkeypatch.setattr(builder.os, "fdopen", FullDisk)
    with pytest.raises(OSError, match="No space left"):
        _ffn_helper().build(tmp_path / "ffn.plan")
    assert not any(tmp_path.iterdir())
