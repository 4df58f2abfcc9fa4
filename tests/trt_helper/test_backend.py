"""Backend selection and capabilities (the one module that imports TensorRT)."""

import importlib.util

import pytest
import torch

from trt_helper import backend as backend_module
from trt_helper.backend import BackendUnavailable, get_backend


@pytest.fixture
def fresh(monkeypatch):
    get_backend.cache_clear()
    yield monkeypatch
    get_backend.cache_clear()


def test_default_prefers_standard_tensorrt(fresh):
    fresh.delenv("TRT_HELPER_BACKEND", raising=False)
    expected = "trt" if importlib.util.find_spec("tensorrt") else "rtx"
    assert get_backend().name == expected


def test_forced_rtx_describes_itself(fresh):
    if not importlib.util.find_spec("tensorrt_rtx"):
        pytest.skip("tensorrt_rtx is not installed")
    fresh.setenv("TRT_HELPER_BACKEND", "rtx")
    b = get_backend()
    assert (b.name, b.trt.__name__, b.has_aot_targets, b.cache_kind) == ("rtx", "tensorrt_rtx", True, "runtime")
    assert b.can_add_plugin_layers == hasattr(b.trt.INetworkDefinition, "add_plugin_v3")
    assert b.torch_dtype(b.dtype(torch.float16)) == torch.float16


def test_forced_missing_backend_says_how_to_install(fresh):
    if importlib.util.find_spec("tensorrt"):
        pytest.skip("standard TensorRT is installed")
    fresh.setenv("TRT_HELPER_BACKEND", "trt")
    with pytest.raises(BackendUnavailable, match="tensorrt-rtx-cu13"):
        get_backend()


def test_unknown_backend_name(fresh):
    fresh.setenv("TRT_HELPER_BACKEND", "onnx")
    with pytest.raises(BackendUnavailable, match="expected one of"):
        get_backend()


def test_unsupported_dtype():
    with pytest.raises(TypeError, match="complex64"):
        get_backend().dtype(torch.complex64)


def test_only_backend_module_imports_tensorrt():
    """Rule 1 of DESIGN.md: nothing but trt_helper/backend.py imports tensorrt or tensorrt_rtx."""
    import pathlib
    import re

    root = pathlib.Path(backend_module.__file__).parents[1]
    pattern = re.compile(r"^\s*(import|from)\s+tensorrt(_rtx)?\b", re.M)
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if "tests" not in p.parts and p.name != "backend.py" and pattern.search(p.read_text())
    ]
    assert not offenders, offenders
