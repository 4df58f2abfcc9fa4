"""Fixtures for the plugin tests: the built library and harness (T2 skips without them), CUDA (T3 skips without)."""

from __future__ import annotations

import pytest
import torch

from tests.trt_helper.conftest import dtype, gen  # noqa: F401  (the op tests' precision and fresh inputs)
from trt_helper import plugins


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
