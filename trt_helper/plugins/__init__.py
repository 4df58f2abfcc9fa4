"""The trt_helper plugin library ``libtrtplugin++.so`` and its plugins, one module each (named like the C++
plugin: its fields, example signature, native-layer form, helper op and PyTorch reference).

Example:
    >>> from trt_helper import plugins
    >>> plugins.find_plugin_library()            # Path or None
    >>> plugins.plugin_library_available()       # loaded into the backend's plugin registry?
    >>> sorted(plugins.PLUGINS)                  # ['AttMaskedSoftmax', 'FMoEExpert', ...]
"""

import importlib
import pkgutil
from types import ModuleType

from .harness import bound_tensor, harness_enqueue, tensor_spec
from .library import (
    LIBRARY_NAME,
    PLUGIN_NAMESPACE,
    PLUGIN_VERSION,
    add_plugin_layer,
    create_plugin,
    find_plugin_library,
    load_harness,
    plugin_fields,
    plugin_library_available,
    resolve_impl,
)

#: plugin name -> its module (plugin modules are the ones named like their C++ plugin, starting upper-case)
PLUGINS: dict[str, ModuleType] = {
    info.name: importlib.import_module(f"{__name__}.{info.name}")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name)
    if info.name[0].isupper()
}

__all__ = [
    "PLUGINS",
    "LIBRARY_NAME",
    "PLUGIN_NAMESPACE",
    "PLUGIN_VERSION",
    "find_plugin_library",
    "load_harness",
    "plugin_library_available",
    "resolve_impl",
    "plugin_fields",
    "create_plugin",
    "add_plugin_layer",
    "tensor_spec",
    "bound_tensor",
    "harness_enqueue",
]
