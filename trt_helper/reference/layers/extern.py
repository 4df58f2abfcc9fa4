"""Layers whose computation lives outside the network definition: plugins and distributed collectives.

A plugin layer is evaluated by the reference registered for its plugin's name (``register_plugin``): the network
only names the plugin, its computation is the plugin library's. A collective is evaluated as the one process the
executor is: over a group of one rank, where every collective returns its input.
"""

from __future__ import annotations

from collections.abc import Callable

from ..registry import ReferenceError, evaluator

PLUGIN_REFERENCES: dict[tuple[str, str], Callable] = {}


def register_plugin(name: str, version: str = "1"):
    """Register ``fn(plugin, inputs) -> list[torch.Tensor]`` as the reference of plugin ``name`` (``version``);
    ``plugin`` is the layer's plugin object (its fields are readable from it)."""

    def register(fn):
        PLUGIN_REFERENCES[(name, version)] = fn
        return fn

    return register


@evaluator("PLUGIN", "PLUGIN_V2", "PLUGIN_V3")
def plugin(layer, inputs, trt, device):
    target = layer.plugin
    if hasattr(trt, "PluginCapabilityType") and hasattr(target, "get_capability_interface"):
        core = target.get_capability_interface(trt.PluginCapabilityType.CORE)
        name, version = core.plugin_name, core.plugin_version
    else:
        name, version = target.plugin_type, target.plugin_version
    reference = PLUGIN_REFERENCES.get((name, version))
    if reference is None:
        known = sorted(f"{n} v{v}" for n, v in PLUGIN_REFERENCES)
        raise ReferenceError(
            f"reference: plugin layer '{layer.name}' runs plugin {name} v{version}, which has no "
            f"registered reference (trt_helper.reference.register_plugin; registered: {known})"
        )
    return reference(target, inputs)


@evaluator("DIST_COLLECTIVE")
def dist_collective(layer, inputs, trt, device):
    x = inputs[0]
    if tuple(layer.get_output(0).shape) != tuple(layer.get_input(0).shape):
        raise ReferenceError(
            f"reference: collective layer '{layer.name}' changes shape {tuple(x.shape)} → "
            f"{tuple(layer.get_output(0).shape)}: it needs other ranks' tensors, which a "
            f"single-process reference does not have"
        )
    return [x]
