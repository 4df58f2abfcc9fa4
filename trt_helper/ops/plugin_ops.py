"""Ops with a native path and a plugin path (the trt_helper plugin library)."""

from __future__ import annotations


class PluginOps:
    """Choosing between native TensorRT layers and plugin layers (``impl=``)."""

    def _resolve_impl(self, impl: str, op: str) -> str:
        """``"native"`` or ``"plugin"`` for ``impl`` in ``auto | native | plugin``.

        ``auto`` takes the plugin when the backend can add plugin layers and the plugin library loads.
        """
        if impl not in ("auto", "native", "plugin"):
            raise ValueError(f"{self.where(op)}: impl must be 'auto', 'native' or 'plugin', got {impl!r}")
        if impl == "native":
            return "native"
        if not self.backend.can_add_plugin_layers:
            if impl == "plugin":
                raise RuntimeError(f"{self.where(op)}: impl='plugin' needs a backend with plugin layers; "
                                   f"{self.backend.trt.__name__} {self.backend.version} has no add_plugin_v3 "
                                   f"(use impl='native' or install standard TensorRT)")
            return "native"
        from ..plugins import plugin_library_available

        available = plugin_library_available()
        if impl == "plugin" and not available:
            raise RuntimeError(f"{self.where(op)}: impl='plugin' but libtrtplugin++.so was not found or did not load")
        return "plugin" if available else "native"
