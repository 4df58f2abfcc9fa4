"""The plugin library ``libtrtplugin++.so``: finding it, loading it, choosing plugin or native, adding layers.

The library is built by ``pip install`` when TensorRT headers are found (``TRT_INCLUDE_DIR``) and lands next to
the package, together with the test harness ``trt_helper._plugin_harness``. ``TRT_HELPER_PLUGIN_LIB`` and
``TRT_HELPER_PLUGIN_HARNESS`` (paths) override the search, e.g. to check a build for another TensorRT version. The same file is what ``trtexec --plugins=<path>`` / ``--dynamicPlugins=<path>`` loads.

Plugins are IPluginV3 objects in the ``trt_helper`` namespace, version ``"1"``; their fields are int32 or float32
scalars (see ``plugins/README.md``).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..backend import get_backend
from ..core import ITensor, NetworkHelper

LIBRARY_NAME = "libtrtplugin++.so"
PLUGIN_NAMESPACE = "trt_helper"
PLUGIN_VERSION = "1"


def _candidate_dirs() -> list[Path]:
    dirs = [Path(__file__).resolve().parent.parent]
    # editable installs keep compiled files in site-packages while the package runs from the source tree:
    # the harness module is found through the import system, and the library sits next to it
    try:
        spec = importlib.util.find_spec("trt_helper._plugin_harness")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.origin:
        dirs.append(Path(spec.origin).resolve().parent)
    return dirs


def find_plugin_library() -> Path | None:
    """Path of ``libtrtplugin++.so``: ``$TRT_HELPER_PLUGIN_LIB`` if set, else next to the installed package.
    None when it was not built (no TensorRT headers at install time)."""
    forced = os.environ.get("TRT_HELPER_PLUGIN_LIB")
    if forced:
        return Path(forced) if Path(forced).is_file() else None
    for directory in _candidate_dirs():
        path = directory / LIBRARY_NAME
        if path.is_file():
            return path
    return None


def load_harness() -> Any:
    """The pybind11 harness module ``trt_helper._plugin_harness`` (drives plugins without a TensorRT runtime):
    the file ``$TRT_HELPER_PLUGIN_HARNESS`` if set (it must be built with the library it drives), else the installed
    one; None when it was not built."""
    forced = os.environ.get("TRT_HELPER_PLUGIN_HARNESS")
    if forced:
        return _load_harness_file(Path(forced))
    try:
        return importlib.import_module("trt_helper._plugin_harness")
    except ImportError:
        return None


@functools.cache
def _load_harness_file(path: Path) -> Any:
    if not path.is_file():
        raise FileNotFoundError(f"TRT_HELPER_PLUGIN_HARNESS={path}: no such file")
    spec = importlib.util.spec_from_file_location("trt_helper._plugin_harness", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"TRT_HELPER_PLUGIN_HARNESS={path}: not a Python extension module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def _registry_handle() -> Any:
    path = find_plugin_library()
    if path is None:
        return None
    return get_backend().trt.get_plugin_registry().load_library(str(path))


def plugin_library_available() -> bool:
    """True when the library exists and the backend's plugin registry loaded it (once per process)."""
    try:
        return _registry_handle() is not None
    except Exception:  # a library that fails to load is "not available"
        return False


def resolve_impl(helper: NetworkHelper, impl: str | None) -> str:
    """``"native"`` or ``"plugin"`` for an op's ``impl`` (None = the helper's ``impl`` option).

    ``auto`` takes the plugin when the backend can add plugin layers and the plugin library loads."""
    impl = helper.impl if impl is None else impl
    if impl not in ("auto", "native", "plugin"):
        raise ValueError(f"{helper.where()}: impl must be 'auto', 'native' or 'plugin', got {impl!r}")
    if impl == "native":
        return "native"
    backend = helper.backend
    if not backend.can_add_plugin_layers:
        if impl == "plugin":
            raise RuntimeError(
                f"{helper.where()}: impl='plugin' needs a backend with plugin layers; "
                f"{backend.trt.__name__} {backend.version} has no add_plugin_v3 "
                f"(use impl='native' or install standard TensorRT)"
            )
        return "native"
    available = plugin_library_available()
    if impl == "plugin" and not available:
        raise RuntimeError(f"{helper.where()}: impl='plugin' but {LIBRARY_NAME} was not found or did not load")
    return "plugin" if available else "native"


def plugin_fields(trt: Any, fields: Mapping[str, int | float]) -> Any:
    """A ``trt.PluginFieldCollection`` from ``{name: value}``: python ints become int32, floats float32."""
    collection = []
    for name, value in fields.items():
        if isinstance(value, (bool, int)):
            collection.append(trt.PluginField(name, np.array([int(value)], dtype=np.int32), trt.PluginFieldType.INT32))
        elif isinstance(value, float):
            collection.append(trt.PluginField(name, np.array([value], dtype=np.float32), trt.PluginFieldType.FLOAT32))
        else:
            raise TypeError(f"plugin field '{name}': expected int or float, got {type(value).__name__}")
    return trt.PluginFieldCollection(collection)


def create_plugin(name: str, fields: Mapping[str, int | float], layer_name: str) -> Any:
    """An IPluginV3 from the backend's plugin registry (the library is loaded first). Raises with the plugin's
    name and fields when the creator is missing or rejects the fields."""
    trt = get_backend().trt
    if not plugin_library_available():
        raise RuntimeError(
            f"plugin {name}: {LIBRARY_NAME} was not found or did not load "
            f"(set TRT_HELPER_PLUGIN_LIB or reinstall with TRT_INCLUDE_DIR set)"
        )
    creator = trt.get_plugin_registry().get_creator(name, PLUGIN_VERSION, PLUGIN_NAMESPACE)
    if creator is None:
        raise RuntimeError(f"plugin {name}: no creator {PLUGIN_NAMESPACE}::{name} v{PLUGIN_VERSION} in the registry")
    plugin = creator.create_plugin(layer_name, plugin_fields(trt, fields), trt.TensorRTPhase.BUILD)
    if plugin is None:
        raise ValueError(
            f"plugin {name} at '{layer_name}': the creator rejected fields {dict(fields)} (the TensorRT log says why)"
        )
    return plugin


def add_plugin_layer(
    helper: NetworkHelper, plugin: str, fields: Mapping[str, int | float], inputs: Sequence[ITensor]
) -> list[ITensor]:
    """Add plugin ``plugin`` on ``inputs`` to ``helper``'s network (named like the current op's layers);
    returns its outputs."""
    if not hasattr(helper.network, "add_plugin_v3"):
        raise RuntimeError(
            f"{helper.where()}: backend {helper.backend.name} cannot add plugin layers (plugin {plugin})"
        )
    instance = create_plugin(plugin, fields, f"{helper.current_path()}.{plugin}")
    layer = helper.finish(helper.network.add_plugin_v3(list(inputs), [], instance), *inputs)
    return [layer.get_output(i) for i in range(layer.num_outputs)]
