"""Evaluator registry: one function per TensorRT layer type."""

from __future__ import annotations

from collections.abc import Callable

EVALUATORS: dict[str, Callable] = {}

_CLASS_NAMES = {
    "ELEMENTWISE": "IElementWiseLayer",
    "SOFTMAX": "ISoftMaxLayer",
    "TOPK": "ITopKLayer",
    "RAGGED_SOFTMAX": "IRaggedSoftMaxLayer",
    "PLUGIN_V3": "IPluginV3Layer",
    "PLUGIN_V2": "IPluginV2Layer",
    "KV_CACHE_UPDATE": "IKVCacheUpdateLayer",
    "MOE": "IMoELayer",
    "LRN": "ILRNLayer",
    "NMS": "INMSLayer",
    "CONDITIONAL_INPUT": "IIfConditionalInputLayer",
    "CONDITIONAL_OUTPUT": "IIfConditionalOutputLayer",
    "PLUGIN": "IPluginLayer",
}


class ReferenceError(RuntimeError):
    """The reference executor could not evaluate a network."""


def evaluator(*kinds: str):
    """Register ``fn(layer, inputs, trt, device) -> list[torch.Tensor]`` for the named ``trt.LayerType`` s."""

    def register(fn):
        for kind in kinds:
            EVALUATORS[kind] = fn
        return fn

    return register


def downcast(trt, layer):
    """``(layer, kind)``: the layer given its concrete class so its attributes can be read, and its
    ``trt.LayerType`` name (read first: some classes, like IActivationLayer, reuse ``type`` for their own kind)."""
    kind = layer.type.name
    name = _CLASS_NAMES.get(kind, "I" + "".join(part.capitalize() for part in kind.split("_")) + "Layer")
    cls = getattr(trt, name, None)
    if cls is not None:
        layer.__class__ = cls
    return layer, kind
