"""The trt_helper plugin library ``libtrtplugin++.so``: finding it, loading it, and adding its plugins.

The library is built by ``pip install`` when TensorRT headers are found (``TRT_INCLUDE_DIR``) and lands next to
this package, together with the test harness ``trt_helper._plugin_harness``. ``TRT_HELPER_PLUGIN_LIB`` overrides
the search. The same file is what ``trtexec --plugins=<path>`` / ``--dynamicPlugins=<path>`` loads.

Plugins are IPluginV3 objects in the ``trt_helper`` namespace, version ``"1"``; their fields are int32 or float32
scalars (see ``plugins/README.md``).

Example:
    >>> from trt_helper import plugins
    >>> plugins.find_plugin_library()            # Path or None
    >>> plugins.plugin_library_available()       # loaded into the backend's plugin registry?
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

LIBRARY_NAME = "libtrtplugin++.so"
PLUGIN_NAMESPACE = "trt_helper"
PLUGIN_VERSION = "1"


def _candidate_dirs() -> list[Path]:
    dirs = [Path(__file__).resolve().parent]
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


def load_harness():
    """The pybind11 harness module ``trt_helper._plugin_harness`` (drives plugins without a TensorRT runtime),
    or None when it was not built."""
    try:
        return importlib.import_module("trt_helper._plugin_harness")
    except ImportError:
        return None


@functools.lru_cache(maxsize=None)
def _registry_handle() -> Any:
    from .backend import get_backend

    path = find_plugin_library()
    if path is None:
        return None
    registry = get_backend().trt.get_plugin_registry()
    return registry.load_library(str(path))


def plugin_library_available() -> bool:
    """True when the library exists and the backend's plugin registry loaded it (once per process)."""
    try:
        return _registry_handle() is not None
    except Exception:  # noqa: BLE001 — a library that fails to load is "not available"
        return False


def plugin_fields(trt, fields: Mapping[str, int | float]):
    """A ``trt.PluginFieldCollection`` from ``{name: value}``: python ints become int32, floats float32."""
    import numpy as np

    collection = []
    for name, value in fields.items():
        if isinstance(value, bool) or isinstance(value, int):
            collection.append(trt.PluginField(name, np.array([int(value)], dtype=np.int32), trt.PluginFieldType.INT32))
        elif isinstance(value, float):
            collection.append(trt.PluginField(name, np.array([value], dtype=np.float32),
                                              trt.PluginFieldType.FLOAT32))
        else:
            raise TypeError(f"plugin field '{name}': expected int or float, got {type(value).__name__}")
    return trt.PluginFieldCollection(collection)


def create_plugin(name: str, fields: Mapping[str, int | float], layer_name: str):
    """An IPluginV3 from the backend's plugin registry (the library is loaded first). Raises with the plugin's
    name and fields when the creator is missing or rejects the fields."""
    from .backend import get_backend

    trt = get_backend().trt
    if not plugin_library_available():
        raise RuntimeError(f"plugin {name}: {LIBRARY_NAME} was not found or did not load "
                           f"(set TRT_HELPER_PLUGIN_LIB or reinstall with TRT_INCLUDE_DIR set)")
    creator = trt.get_plugin_registry().get_creator(name, PLUGIN_VERSION, PLUGIN_NAMESPACE)
    if creator is None:
        raise RuntimeError(f"plugin {name}: no creator {PLUGIN_NAMESPACE}::{name} v{PLUGIN_VERSION} in the registry")
    plugin = creator.create_plugin(layer_name, plugin_fields(trt, fields), trt.TensorRTPhase.BUILD)
    if plugin is None:
        raise ValueError(f"plugin {name} at '{layer_name}': the creator rejected fields {dict(fields)} "
                         f"(the TensorRT log says why)")
    return plugin


def add_plugin_layer(helper, plugin: str, fields: Mapping[str, int | float], inputs: Sequence[Any], op: str,
                     name: str | None = None):
    """Add plugin ``plugin`` to ``helper``'s network on ``inputs``; returns the layer, named like the helper's
    other layers (``op``/``name`` under the current module path)."""
    network = helper.network
    if not hasattr(network, "add_plugin_v3"):
        raise RuntimeError(f"{helper._where(op)}: backend {helper.backend.name} cannot add plugin layers "
                           f"(plugin {plugin})")
    instance = create_plugin(plugin, fields, helper._join(name or op))
    layer = network.add_plugin_v3(list(inputs), [], instance)
    return helper._finish(layer, op, name, inputs)


# ----------------------------------------------------------------------------------------------- harness helpers
_TORCH_TYPE_NAMES = {"float32": "float32", "float16": "float16", "bfloat16": "bfloat16", "int32": "int32",
                     "int64": "int64", "int8": "int8", "bool": "bool", "uint8": "uint8"}


def tensor_spec(tensor) -> tuple[tuple[int, ...], str]:
    """``(dims, type name)`` of a torch tensor, as the harness takes it."""
    return tuple(tensor.shape), _TORCH_TYPE_NAMES[str(tensor.dtype).replace("torch.", "")]


def bound_tensor(tensor) -> tuple[int, tuple[int, ...], str]:
    """``(data pointer, dims, type name)`` of a contiguous torch tensor, for ``Plugin.enqueue``."""
    if not tensor.is_contiguous():
        raise ValueError("plugin tensors must be contiguous")
    dims, type_name = tensor_spec(tensor)
    return tensor.data_ptr(), dims, type_name


def harness_enqueue(plugin, inputs: Sequence[Any], outputs: Sequence[Any], stream=None, workspace=None) -> int:
    """Run a harness ``Plugin`` on torch CUDA tensors the way TensorRT would: configurePlugin, onShapeChange,
    getWorkspaceSize (a workspace is allocated when none is given), enqueue. Returns enqueue's status
    (configure/shape failures are returned as they come)."""
    import torch

    in_specs = [tensor_spec(t) for t in inputs]
    out_specs = [tensor_spec(t) for t in outputs]
    status = plugin.configure(in_specs, out_specs)
    if status != 0:
        return status
    status = plugin.on_shape_change(in_specs, out_specs)
    if status != 0:
        return status
    if workspace is None:
        size = plugin.workspace_size(in_specs, out_specs)
        device = outputs[0].device if outputs else inputs[0].device
        workspace = torch.empty(max(size, 1), dtype=torch.uint8, device=device) if size else None
    stream = torch.cuda.current_stream() if stream is None else stream
    return plugin.enqueue([bound_tensor(t) for t in inputs], [bound_tensor(t) for t in outputs],
                          workspace.data_ptr() if workspace is not None else 0, stream.cuda_stream)
