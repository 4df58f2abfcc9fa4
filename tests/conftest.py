"""Fixtures shared by every test: precisions and fresh inputs, the built plugin library (T2 skips without it),
CUDA (T3 skips without it). The Whisper fixtures live in tests/models/whisper/fixtures.py (a plugin below)."""

import pytest
import torch

from trt_helper import plugins

pytest_plugins = ["tests.models.whisper.fixtures", "tests.trt_helper.triton.fixtures"]


@pytest.fixture(params=[torch.float32, torch.float16], ids=["fp32", "fp16"])
def dtype(request):
    return request.param


@pytest.fixture
def gen():
    """A fresh, unseeded-per-run generator: inputs differ between runs (never zeros)."""
    g = torch.Generator()
    g.seed()
    print(f"generator seed {g.initial_seed()}")  # shown by pytest when a test fails
    return g


@pytest.fixture(scope="session")
def library_path():
    path = plugins.find_plugin_library()
    if path is None:
        pytest.skip("libtrtplugin++.so is not built (install with TensorRT headers: TRT_INCLUDE_DIR=... pip install .)")
    return path


@pytest.fixture(scope="session")
def harness(library_path):
    module = plugins.load_harness()
    if module is None:
        pytest.skip("trt_helper._plugin_harness is not built (it is built with libtrtplugin++.so)")
    return module


@pytest.fixture(scope="session")
def lib(harness, library_path):
    return harness.Library(str(library_path))


@pytest.fixture
def cuda():
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU (T3)")
    return torch.device("cuda")
