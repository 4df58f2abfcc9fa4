"""NetworkHelper: fill a strongly typed TensorRT network from PyTorch-style calls.

A model keeps its training ``forward`` and gets a second one, ``trt_forward(self, helper, *tensors)``, written
line by line with ``helper.addLinear(self.w_1, x)``, ``helper.addSiLU(x)`` … Each op is a function in its own
file under ``trt_helper/ops/`` or ``trt_helper/plugins/``, registered as a method here by ``@op``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import reference as reference_executor
from ..builder import BuildReport
from ..builder import build as build_plan
from .base import NetworkCore
from .registry import LEAF_MODULES, ITensor, bind_ops


@bind_ops
class NetworkHelper(NetworkCore):
    """Builds one strongly typed TensorRT network.

    Args:
        dtype: compute precision (``torch.float32``, ``float16`` or ``bfloat16``). Module weights are cast
            to it; network inputs keep their declared dtype (cast them with :meth:`addCast`).
        name: the network's name, also the path prefix of the root module's layers.
        impl: for ops with a native and a plugin form (LayerNorm, masked softmax, MoE …): ``"auto"`` (the plugin
            where the backend can add plugin layers and the library loads), ``"native"`` or ``"plugin"``; an
            op's own ``impl=`` overrides it.
        fp32_islands: in fp16/bf16 networks, keep LayerNorm statistics and softmax in fp32 (default True).
        weights: default weight format of every ``nn.Linear`` (:meth:`addLinear`) and tied token table
            (:meth:`addTiedLogits`): ``"fp"`` (the network dtype), ``"int8"`` or ``"int4"`` weight-only (symmetric
            round-to-nearest, see :mod:`trt_helper.quant`).
        group_size: for ``"int8"``/``"int4"``: None (one scale per output channel) or 32 / 64 / 128 (block-wise
            along K).
        quantized: module path -> :class:`~trt_helper.quant.QuantizedWeight` used instead of round-to-nearest
            for that linear or table (e.g. from :func:`trt_helper.quant.awq_quantize`), or None to keep it in the
            network dtype.

    Every ``addX`` op takes ``name=``; its layers are named ``<module path>.<name>``.

    Example:
        >>> helper = NetworkHelper(torch.float32, name="ffn")
        >>> x = helper.addInput("x", torch.float32, (-1, 8), min_shape=(1, 8), opt_shape=(4, 8), max_shape=(16, 8))
        >>> helper.markOutput(helper(torch.nn.Linear(8, 4), x), "y")
    """

    @classmethod
    def fromOnnx(cls, model: Any, name: str = "onnx", shapes: dict[str, tuple] | None = None) -> NetworkHelper:
        """A helper whose network is parsed from an ONNX model (path or bytes) by the backend's own ONNX parser,
        so it can be built and evaluated by the reference executor like a helper-made network. ``shapes`` gives
        ``{input: (min_shape, opt_shape, max_shape)}`` for dynamic inputs."""
        helper = cls(torch.float32, name=name)
        parser = helper.keep_alive(helper.trt.OnnxParser(helper.network, helper.logger))
        data = model if isinstance(model, (bytes, bytearray)) else Path(model).read_bytes()
        if not parser.parse(data):
            errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
            raise ValueError(f"fromOnnx('{name}'): the ONNX parser failed: {'; '.join(errors)}")
        inputs = helper._inputs()
        for input_name, (lo, opt, hi) in (shapes or {}).items():
            if input_name not in inputs:
                raise ValueError(f"fromOnnx('{name}'): no input named '{input_name}' (inputs: {sorted(inputs)})")
            helper._set_profile(0, input_name, tuple(inputs[input_name].shape), lo, opt, hi)
        return helper

    # ----------------------------------------------------------------- inputs, outputs
    def addInput(
        self,
        name: str,
        dtype: torch.dtype,
        shape: Sequence[int],
        min_shape: Sequence[int] | None = None,
        opt_shape: Sequence[int] | None = None,
        max_shape: Sequence[int] | None = None,
    ) -> ITensor:
        """Declare a network input. ``-1`` marks a dynamic dim, which needs ``min/opt/max_shape``
        (profile 0; add more profiles with :meth:`addProfile`)."""
        shape = tuple(int(d) for d in shape)
        with self.op_frame("addInput", name):
            trt_dtype = self.trt_dtype(dtype)
            if any(d < -1 for d in shape):
                raise ValueError(f"addInput('{name}'): shape {shape} has a dim below -1")
            given = [s is not None for s in (min_shape, opt_shape, max_shape)]
            if -1 in shape and not all(given):
                raise ValueError(
                    f"addInput('{name}'): shape {shape} has dynamic dims (-1), so min_shape, opt_shape "
                    f"and max_shape are all needed"
                )
            mark = len(self.logger.errors)
            tensor = self.network.add_input(name, trt_dtype, shape)
            if tensor is None:
                raise ValueError(
                    f"addInput('{name}', shape={shape}): TensorRT refused the input: {self.errors_since(mark)}"
                )
        if all(given):
            self._set_profile(0, name, shape, min_shape, opt_shape, max_shape)
        return tensor

    def addProfile(self, shapes: dict[str, tuple]) -> int:
        """Add an optimization profile: ``{input_name: (min_shape, opt_shape, max_shape)}`` for every dynamic
        input. Returns the profile index."""
        self.profiles.append({})
        index = len(self.profiles) - 1
        inputs = self._inputs()
        for name, (lo, opt, hi) in shapes.items():
            if name not in inputs:
                raise ValueError(f"addProfile: no network input named '{name}' (inputs: {sorted(inputs)})")
            self._set_profile(index, name, tuple(inputs[name].shape), lo, opt, hi)
        return index

    def _inputs(self) -> dict[str, ITensor]:
        return {self.network.get_input(i).name: self.network.get_input(i) for i in range(self.network.num_inputs)}

    def _set_profile(self, index, name, shape, lo, opt, hi) -> None:
        lo, opt, hi = (tuple(int(d) for d in s) for s in (lo, opt, hi))
        for label, dims in (("min_shape", lo), ("opt_shape", opt), ("max_shape", hi)):
            if len(dims) != len(shape) or any(d != -1 and d != e for d, e in zip(shape, dims)):
                raise ValueError(f"input '{name}': {label} {dims} does not fit shape {shape}")
        if not all(a <= b <= c for a, b, c in zip(lo, opt, hi)):
            raise ValueError(f"input '{name}': need min <= opt <= max per dim, got {lo}, {opt}, {hi}")
        self.profiles[index][name] = (lo, opt, hi)

    def markOutput(self, tensor: ITensor, name: str) -> ITensor:
        """Mark ``tensor`` as a network output named ``name``."""
        with self.op_frame("markOutput", name):
            self.check_tensor(tensor, name)
            if tensor.is_network_input or tensor.is_network_output:
                tensor = self.finish(self.network.add_identity(tensor), tensor).get_output(0)
        tensor.name = name
        self.network.mark_output(tensor)
        return tensor

    def markDebug(self, tensor: ITensor, name: str) -> ITensor:
        """Mark an intermediate tensor as a debug tensor (readable at run time without changing fusion,
        and by name from ``reference(debug=True)``)."""
        with self.op_frame("markDebug", name):
            self.check_tensor(tensor, name)
        tensor.name = name
        if hasattr(self.network, "mark_debug"):
            self.network.mark_debug(tensor)
        return tensor

    # ----------------------------------------------------------------- module dispatch
    def __call__(self, module: nn.Module, *inputs: Any, **kwargs: Any) -> Any:
        """Add ``module`` to the network: torch.nn leaf modules map to ops, any other module to its
        ``trt_forward(helper, *inputs)``. The module's output is recorded under its path in
        ``module_outputs`` (what :func:`trt_helper.compare` matches against), its first input in ``module_inputs``
        (what :func:`trt_helper.quant.calibrate_network` reads)."""
        if not isinstance(module, nn.Module):
            raise TypeError(f"helper(...) takes a torch.nn.Module first, got {type(module).__name__}")
        if not self._module_paths:
            self.setModel(module)
        with self.scope(module) as scope:
            if inputs and self.is_tensor(inputs[0]):
                self.module_inputs[scope.path] = (type(module), inputs[0])
            add = LEAF_MODULES.get(type(module))
            if add is not None:
                return scope.record(add(self, module, *inputs, **kwargs))
            if isinstance(module, nn.Sequential):
                out = inputs[0] if len(inputs) == 1 else inputs
                for child in module:
                    out = self(child, out)
                return scope.record(out)
            trt_forward = getattr(module, "trt_forward", None)
            if trt_forward is not None:
                return scope.record(trt_forward(self, *inputs, **kwargs))
            raise TypeError(
                f"helper(module) at '{scope.path}': {type(module).__name__} is not a torch.nn leaf "
                f"module the helper knows and has no trt_forward(helper, ...) method"
            )

    # ----------------------------------------------------------------- build and evaluate
    def build(
        self,
        path: str | Path,
        *,
        targets: Sequence[Any] | None = None,
        workspace: int | None = None,
        timing_cache: str | Path | None = None,
        progress: bool | None = None,
        strip_weights: bool = False,
    ) -> BuildReport:
        """Write the network to a ``.plan`` atomically (``strip_weights=True``: without its weights, refitted at
        load by ``Engine(plan, refit_from=module_or_checkpoint)``); see :func:`trt_helper.builder.build`. Returns a
        :class:`~trt_helper.builder.BuildReport`."""
        return build_plan(
            self,
            path,
            targets=targets,
            workspace=workspace,
            timing_cache=timing_cache,
            progress=progress,
            strip_weights=strip_weights,
        )

    def reference(self, inputs: dict, device: str | torch.device = "cpu", debug: bool = False) -> dict:
        """Evaluate the network with the reference executor. ``debug=True`` returns every tensor by name, plus
        each module's output under its module path (``path:i`` for tuple outputs)."""
        values = reference_executor.run(self.network, inputs, device=device, debug=debug)
        if debug:
            for path, out in self.module_outputs.items():
                outs = out if isinstance(out, (tuple, list)) else [out]
                for i, tensor in enumerate(outs):
                    if self.is_tensor(tensor) and tensor.name in values:
                        values[path if len(outs) == 1 else f"{path}:{i}"] = values[tensor.name]
        return values
