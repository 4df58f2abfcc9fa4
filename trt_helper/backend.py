"""The one module that imports TensorRT.

Picks standard ``tensorrt`` (>= 10) when it is importable, else ``tensorrt_rtx``
(TensorRT for RTX, installable from PyPI). ``TRT_HELPER_BACKEND=trt|rtx`` forces
one. Everything else asks :func:`get_backend` what the backend can do instead of
testing module names.
"""

from __future__ import annotations

import functools
import importlib
import os
from dataclasses import dataclass
from typing import Any

_MODULES = {"trt": "tensorrt", "rtx": "tensorrt_rtx"}


class BackendUnavailable(ImportError):
    """Raised when no TensorRT backend can be imported."""


@dataclass(frozen=True)
class Backend:
    """An imported TensorRT module and what it can do.

    Attributes:
        trt: the imported module (``tensorrt`` or ``tensorrt_rtx``).
        name: ``"trt"`` or ``"rtx"``.
        version: the module's version string.
        can_add_plugin_layers: the network definition has ``add_plugin_v3``.
        has_aot_targets: the builder config can name compute capabilities (CPU-only AOT builds).
        cache_kind: ``"timing"`` (standard TensorRT builder cache) or ``"runtime"`` (RTX JIT kernel cache).
        logger: a shared ``trt.Logger`` at WARNING.
    """

    trt: Any
    name: str
    version: str
    can_add_plugin_layers: bool
    has_aot_targets: bool
    cache_kind: str
    logger: Any

    def dtype(self, torch_dtype) -> Any:
        """The ``trt.DataType`` for a torch dtype; ``TypeError`` for one TensorRT has no type for."""
        import torch

        table = {
            torch.float32: self.trt.float32,
            torch.float16: self.trt.float16,
            torch.bfloat16: self.trt.bfloat16,
            torch.int32: self.trt.int32,
            torch.int64: self.trt.int64,
            torch.int8: self.trt.int8,
            torch.uint8: self.trt.uint8,
            torch.bool: self.trt.bool,
        }
        if torch_dtype not in table:
            raise TypeError(f"TensorRT has no data type for torch dtype {torch_dtype}")
        return table[torch_dtype]

    def torch_dtype(self, trt_dtype) -> Any:
        """The torch dtype for a ``trt.DataType``."""
        import torch

        for candidate in (
            torch.float32,
            torch.float16,
            torch.bfloat16,
            torch.int32,
            torch.int64,
            torch.int8,
            torch.uint8,
            torch.bool,
        ):
            if self.dtype(candidate) == trt_dtype:
                return candidate
        raise TypeError(f"no torch dtype for TensorRT type {trt_dtype}")


def _import(name: str) -> Backend:
    module = importlib.import_module(_MODULES[name])
    if name == "trt" and int(module.__version__.split(".")[0]) < 10:
        raise BackendUnavailable(f"tensorrt {module.__version__} is too old: trt_helper needs TensorRT >= 10")
    return Backend(
        trt=module,
        name=name,
        version=module.__version__,
        can_add_plugin_layers=hasattr(module.INetworkDefinition, "add_plugin_v3"),
        has_aot_targets=hasattr(module.IBuilderConfig, "set_compute_capability"),
        cache_kind="runtime" if hasattr(module, "IRuntimeCache") and name == "rtx" else "timing",
        logger=module.Logger(module.Logger.WARNING),
    )


@functools.cache
def get_backend() -> Backend:
    """Import and describe the TensorRT backend (cached).

    Raises:
        BackendUnavailable: neither module imports, or the forced one does not.
    """
    forced = os.environ.get("TRT_HELPER_BACKEND", "").strip().lower()
    if forced and forced not in _MODULES:
        raise BackendUnavailable(f"TRT_HELPER_BACKEND={forced!r}: expected one of {sorted(_MODULES)}")
    errors = []
    for name in [forced] if forced else ["trt", "rtx"]:
        try:
            return _import(name)
        except ImportError as error:  # also BackendUnavailable
            errors.append(f"{_MODULES[name]}: {error}")
    raise BackendUnavailable(
        "no TensorRT backend could be imported (" + "; ".join(errors) + "). "
        "Install one with `pip install tensorrt-rtx-cu13==1.7.1.116`."
    )
