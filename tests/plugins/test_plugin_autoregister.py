"""T2 (CPU): libtrtplugin++.so registers its creators when it is merely dlopened into a process that holds a
TensorRT (what Triton's TensorRT backend does with --backend-config=tensorrt,plugins=...), and does nothing
without one. The registry is a stand-in library exporting getPluginRegistry (tests/plugins/standin/), loaded into
a fresh Python process before the harness dlopens the plugin library (static initializers run once per process);
the last tests use TensorRT-RTX's real registry."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.headers

HERE = Path(__file__).resolve().parent

# Runs in a fresh process: load the stand-in registry (global, local or after the library), dlopen the plugin library
# through the harness (RTLD_NOW | RTLD_LOCAL, like Triton), then report what the stand-in holds, before and after the
# harness calls getCreators (which hands the registration to its caller, as IPluginRegistry::loadLibrary expects).
SCRIPT = r"""
import ctypes, importlib.util, json, sys
standin_path, library, mode, extra, harness_path = sys.argv[1:6]
spec = importlib.util.spec_from_file_location("_plugin_harness", harness_path)  # without importing trt_helper (torch)
harness = importlib.util.module_from_spec(spec)
spec.loader.exec_module(harness)
def held(standin):
    buf = ctypes.create_string_buffer(8192)
    calls = standin.standinRegistered(buf, 8192)
    return calls, [name for name in buf.value.decode().split(";") if name]
standin = None
if mode != "after":
    standin = ctypes.CDLL(standin_path, mode=ctypes.RTLD_GLOBAL if mode == "global" else ctypes.RTLD_LOCAL)
lib = harness.Library(library)
copy = harness.Library(extra) if extra != "-" else None
if standin is None:
    standin = ctypes.CDLL(standin_path, mode=ctypes.RTLD_GLOBAL)
calls, names = held(standin)
creators = sorted(f"{c['namespace']}::{c['name']}/{c['version']}" for c in lib.creators())
print(json.dumps({"calls": calls, "names": sorted(names), "creators": creators, "after_getCreators": held(standin)[1]}))
"""


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    """The stand-in registry compiled against the TensorRT headers (what T2 needs anyway)."""
    headers = Path(os.environ.get("TRT_INCLUDE_DIR", "/opt/tensorrt-oss/include"))
    compiler = shutil.which("g++") or shutil.which("c++")
    nvcc = shutil.which("nvcc")
    roots = [
        os.environ.get("CUDA_HOME"),
        os.environ.get("CUDA_PATH"),
        "/usr/local/cuda",
        nvcc and Path(nvcc).resolve().parents[1],
    ]
    cuda_include = next(
        (Path(r) / "include" for r in roots if r and (Path(r) / "include" / "cuda_runtime_api.h").is_file()), None
    )
    if not (headers / "NvInferRuntime.h").is_file() or compiler is None or cuda_include is None:
        pytest.skip("needs the TensorRT headers, a C++ compiler and the CUDA headers")
    out = tmp_path_factory.mktemp("standin") / "libstandin.so"
    subprocess.run(
        [
            compiler,
            "-std=c++17",
            "-shared",
            "-fPIC",
            "-Wno-deprecated-declarations",
            f"-I{headers}",
            f"-I{cuda_include}",
            "-o",
            str(out),
            str(HERE / "standin" / "standinRegistry.cpp"),
        ],
        check=True,
    )
    return out


def run(standin, library, harness, mode, extra="-"):
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(standin), str(library), mode, str(extra), harness.__file__],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("mode", ["global", "local"])
def test_dlopen_registers_every_creator_once(standin, library_path, harness, mode):
    """Found through RTLD_DEFAULT (global) and by walking the loaded objects (local, as the TensorRT backend loads
    libnvinfer); each creator registered once, under the namespace and version its creator reports."""
    result = run(standin, library_path, harness, mode)
    assert result["creators"] and result["names"] == result["creators"]
    assert result["calls"] == len(result["creators"])
    assert result["after_getCreators"] == []  # handed to the caller of getCreators


def test_without_tensorrt_loading_is_a_noop(standin, library_path, harness):
    result = run(standin, library_path, harness, "after")
    assert result["calls"] == 0 and result["names"] == [] and result["creators"]


def test_a_second_copy_registers_nothing_twice(standin, library_path, harness, tmp_path):
    copy = tmp_path / "libtrtplugin++-copy.so"
    shutil.copy(library_path, copy)
    result = run(standin, library_path, harness, "global", copy)
    assert result["names"] == result["creators"] and result["calls"] == len(result["creators"])


REAL_SCRIPT = r"""
import ctypes, sys
try:
    import tensorrt as trt
except ImportError:
    import tensorrt_rtx as trt
registry = trt.get_plugin_registry()
def ours():
    return sorted(c.name for c in registry.all_creators if getattr(c, "plugin_namespace", "") == "trt_helper")
before = ours()
if sys.argv[2] == "dlopen":
    ctypes.CDLL(sys.argv[1])
    print(before, ours())
else:
    handle = registry.load_library(sys.argv[1])
    print(before, ours(), handle is not None)
"""


@pytest.mark.parametrize("how", ["dlopen", "load_library"])
def test_tensorrt_rtx_registry(library_path, lib, how):
    """TensorRT-RTX's registry: a plain dlopen registers every creator; loadLibrary (getCreators) still succeeds."""
    out = subprocess.run(
        [sys.executable, "-c", REAL_SCRIPT, str(library_path), how], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    line = out.stdout.strip().splitlines()[-1]
    expected = str(sorted(c["name"] for c in lib.creators()))
    assert line == f"[] {expected}" + (" True" if how == "load_library" else ""), line
