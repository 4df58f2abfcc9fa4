"""NetworkHelper: fill a strongly typed TensorRT network from PyTorch-style calls.

A model keeps its training ``forward`` and gets a second one,
``trt_forward(self, helper, *tensors)``, written line by line with
``helper.addLinear(self.w_1, x)``, ``helper.addSiLU(x)`` … The op methods live
in ``trt_helper/ops/`` (one file per op family) and are mixed in here.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np
import torch

from .backend import get_backend
from .ops.pointwise import PointwiseOps
from .ops.elementwise import ElementwiseOps
from .ops.modules import ModuleOps
from .ops.reduce import ReduceOps
from .ops.shape import ShapeOps
from .ops.plugin_ops import PluginOps

_FLOAT_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


class NetworkHelper(ModuleOps, PointwiseOps, ElementwiseOps, ReduceOps, ShapeOps, PluginOps):
    """Builds one strongly typed TensorRT network.

    Args:
        dtype: compute precision (``torch.float32``, ``float16`` or ``bfloat16``). Module weights are cast
            to it; network inputs keep their declared dtype (cast them with :meth:`addCast`).
        name: the network's name, also the path prefix of the root module's layers.
        fp32_islands: in fp16/bf16 networks, keep LayerNorm statistics and softmax in fp32 (default True).

    Example:
        >>> helper = NetworkHelper(torch.float32, name="ffn")
        >>> x = helper.addInput("x", torch.float32, (-1, 8), min_shape=(1, 8), opt_shape=(4, 8), max_shape=(16, 8))
        >>> helper.markOutput(helper(torch.nn.Linear(8, 4), x), "y")
    """

    def __init__(self, dtype: torch.dtype = torch.float32, name: str = "network", fp32_islands: bool = True):
        if dtype not in _FLOAT_DTYPES:
            raise TypeError(f"NetworkHelper(dtype={dtype}): expected one of {list(_FLOAT_DTYPES)}")
        self.backend = get_backend()
        self.trt = self.backend.trt
        from .builder import shared_builder

        self.builder, self.logger = shared_builder(self.trt)
        flags = 0
        if self.backend.name == "trt" and hasattr(self.trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED"):
            flags = 1 << int(self.trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
        self.network = self.builder.create_network(flags)
        self.network.name = name
        self.dtype = dtype
        self.name = name
        self.fp32_islands = fp32_islands
        self.profiles: list[dict[str, tuple[tuple[int, ...], ...]]] = [{}]
        self.module_outputs: dict[str, Any] = {}
        self._weights: list[np.ndarray] = []
        self._module_paths: dict[int, str] = {}
        self._scope: list[str] = []
        self._used_names: set[str] = set()
        self._small_constants: dict[tuple, Any] = {}  # (dtype, shape, bytes) -> tensor: one layer per small constant
        self._shapes_of: dict[str, Any] = {}  # tensor name -> its add_shape output, made once
        self.dim_sources: dict[str, tuple[str, int]] = {}  # 0-d dim tensor name -> (tensor name, dim)

    @classmethod
    def fromOnnx(cls, model, name: str = "onnx", shapes: dict[str, tuple] | None = None) -> "NetworkHelper":
        """A helper whose network is parsed from an ONNX model (path or bytes) by the backend's own ONNX parser,
        so it can be built and evaluated by the reference executor like a helper-made network. ``shapes`` gives
        ``{input: (min_shape, opt_shape, max_shape)}`` for dynamic inputs."""
        from pathlib import Path

        helper = cls(torch.float32, name=name)
        helper._onnx_parser = helper.trt.OnnxParser(helper.network, helper.logger)
        data = model if isinstance(model, (bytes, bytearray)) else Path(model).read_bytes()
        if not helper._onnx_parser.parse(data):
            errors = [str(helper._onnx_parser.get_error(i)) for i in range(helper._onnx_parser.num_errors)]
            raise ValueError(f"fromOnnx('{name}'): the ONNX parser failed: {'; '.join(errors)}")
        inputs = {helper.network.get_input(i).name: helper.network.get_input(i)
                  for i in range(helper.network.num_inputs)}
        for input_name, (lo, opt, hi) in (shapes or {}).items():
            if input_name not in inputs:
                raise ValueError(f"fromOnnx('{name}'): no input named '{input_name}' (inputs: {sorted(inputs)})")
            helper._set_profile(0, input_name, tuple(inputs[input_name].shape), lo, opt, hi)
        return helper

    # ----------------------------------------------------------------- inputs, outputs
    def addInput(self, name: str, dtype: torch.dtype, shape: Sequence[int], min_shape=None, opt_shape=None,
                 max_shape=None):
        """Declare a network input. ``-1`` marks a dynamic dim, which needs ``min/opt/max_shape``
        (profile 0; add more profiles with :meth:`addProfile`)."""
        shape = tuple(int(d) for d in shape)
        trt_dtype = self._trt_dtype(dtype, f"addInput('{name}')")
        if any(d < -1 for d in shape):
            raise ValueError(f"addInput('{name}'): shape {shape} has a dim below -1")
        dynamic = -1 in shape
        given = [s is not None for s in (min_shape, opt_shape, max_shape)]
        if dynamic and not all(given):
            raise ValueError(f"addInput('{name}'): shape {shape} has dynamic dims (-1), so min_shape, opt_shape and "
                             f"max_shape are all needed")
        tensor = self.network.add_input(name, trt_dtype, shape)
        if tensor is None:
            raise ValueError(f"addInput('{name}', shape={shape}): TensorRT refused the input: {self.logger.last_error()}")
        if all(given):
            self._set_profile(0, name, shape, min_shape, opt_shape, max_shape)
        return tensor

    def addProfile(self, shapes: dict[str, tuple]) -> int:
        """Add an optimization profile: ``{input_name: (min_shape, opt_shape, max_shape)}`` for every dynamic
        input. Returns the profile index."""
        self.profiles.append({})
        index = len(self.profiles) - 1
        inputs = {self.network.get_input(i).name: self.network.get_input(i) for i in range(self.network.num_inputs)}
        for name, (lo, opt, hi) in shapes.items():
            if name not in inputs:
                raise ValueError(f"addProfile: no network input named '{name}' (inputs: {sorted(inputs)})")
            self._set_profile(index, name, tuple(inputs[name].shape), lo, opt, hi)
        return index

    def _set_profile(self, index, name, shape, lo, opt, hi):
        lo, opt, hi = (tuple(int(d) for d in s) for s in (lo, opt, hi))
        for label, dims in (("min_shape", lo), ("opt_shape", opt), ("max_shape", hi)):
            if len(dims) != len(shape) or any(d != -1 and d != e for d, e in zip(shape, dims)):
                raise ValueError(f"input '{name}': {label} {dims} does not fit shape {shape}")
        if not all(a <= b <= c for a, b, c in zip(lo, opt, hi)):
            raise ValueError(f"input '{name}': need min <= opt <= max per dim, got {lo}, {opt}, {hi}")
        self.profiles[index][name] = (lo, opt, hi)

    def markOutput(self, tensor, name: str):
        """Mark ``tensor`` as a network output named ``name``."""
        self._check_tensor(tensor, "markOutput", name)
        if tensor.is_network_input or tensor.is_network_output:
            tensor = self._finish(self.network.add_identity(tensor), "markOutput", f"{name}_copy").get_output(0)
        tensor.name = name
        self.network.mark_output(tensor)
        return tensor

    def markDebug(self, tensor, name: str):
        """Mark an intermediate tensor as a debug tensor (readable at run time without changing fusion,
        and by name from ``reference(debug=True)``)."""
        self._check_tensor(tensor, "markDebug", name)
        tensor.name = name
        if hasattr(self.network, "mark_debug"):
            self.network.mark_debug(tensor)
        return tensor

    # ----------------------------------------------------------------- module dispatch
    def setModel(self, model: torch.nn.Module, prefix: str = "") -> None:
        """Name layers of ``model``'s submodules by their paths in it (``encoder.layers.3.feed_forward.w_1``)."""
        for path, module in model.named_modules(prefix=prefix):
            self._module_paths.setdefault(id(module), path or self.name)

    def __call__(self, module: torch.nn.Module, *inputs, **kwargs):
        """Add ``module`` to the network: torch.nn leaf modules map to ops, any other module to its
        ``trt_forward(helper, *inputs)``. The module's output is recorded under its path in
        ``module_outputs`` (what :func:`trt_helper.compare` matches against)."""
        if not isinstance(module, torch.nn.Module):
            raise TypeError(f"helper(...) takes a torch.nn.Module first, got {type(module).__name__}")
        if not self._module_paths:
            self.setModel(module)
        path = self.module_path(module)
        self._scope.append(path)
        try:
            result = self._dispatch(module, path, inputs, kwargs)
        finally:
            self._scope.pop()
        self.module_outputs[path] = result
        return result

    def _dispatch(self, module, path, inputs, kwargs):
        from .ops.modules import LEAF_MODULES

        for kind, add in LEAF_MODULES:
            if type(module) is kind:
                return add(self, module, *inputs, **kwargs)
        if isinstance(module, torch.nn.Sequential):
            out = inputs[0] if len(inputs) == 1 else inputs
            for child in module:
                out = self(child, out)
            return out
        if hasattr(module, "trt_forward"):
            return module.trt_forward(self, *inputs, **kwargs)
        raise TypeError(f"helper(module) at '{path}': {type(module).__name__} is not a torch.nn leaf module the helper "
                        f"knows and has no trt_forward(helper, ...) method")

    def module_path(self, module: torch.nn.Module) -> str:
        """The module's path in the registered model, or a fresh name under the current scope."""
        path = self._module_paths.get(id(module))
        if path is None:
            path = self._unique(self._join(type(module).__name__.lower()))
            self._module_paths[id(module)] = path
        return path

    # ----------------------------------------------------------------- naming, checks, constants
    def _join(self, name: str) -> str:
        return f"{self._scope[-1]}.{name}" if self._scope else f"{self.name}.{name}"

    def _unique(self, name: str) -> str:
        candidate, n = name, 1
        while candidate in self._used_names:
            candidate, n = f"{name}_{n}", n + 1
        self._used_names.add(candidate)
        return candidate

    def _layer_name(self, op: str, name: str | None, absolute: bool) -> str:
        scope = self._scope[-1] if self._scope else None
        if name is not None and scope and (name == scope or name.startswith((scope + ".", scope + "_"))):
            absolute = True
        return self._unique(name if absolute and name else self._join(name or op))

    def _finish(self, layer, op: str, name: str | None, inputs: Iterable = (), absolute: bool = False):
        """Name a freshly added layer and its outputs; raise with context if TensorRT returned None."""
        if layer is None:
            shapes = [self.shape(t) for t in inputs]
            raise ValueError(f"{op} at '{self._scope[-1] if self._scope else self.name}': TensorRT could not add the "
                             f"layer for input shapes {shapes}: {self.logger.last_error()}")
        layer.name = self._layer_name(op, name, absolute)
        for i in range(layer.num_outputs):
            layer.get_output(i).name = layer.name if layer.num_outputs == 1 else f"{layer.name}:{i}"
        return layer

    def _where(self, op: str) -> str:
        """``"op at 'module.path'"`` for error messages."""
        return f"{op} at '{self._scope[-1] if self._scope else self.name}'"

    def shape(self, tensor) -> tuple[int, ...]:
        """The tensor's shape as known when the network is defined (-1 for dynamic dims)."""
        return tuple(tensor.shape)

    def torch_dtype(self, tensor) -> torch.dtype:
        """The torch dtype of a network tensor."""
        return self.backend.torch_dtype(tensor.dtype)

    def _trt_dtype(self, dtype, where):
        try:
            return self.backend.dtype(dtype)
        except TypeError as error:
            raise TypeError(f"{where}: {error}") from None

    def _check_tensor(self, tensor, op, what="input"):
        if not isinstance(tensor, self.trt.ITensor):
            raise TypeError(f"{self._where(op)}: {what} must be a network tensor (ITensor), got {type(tensor).__name__}")

    def _check_rank(self, tensor, op, ranks, what="input"):
        self._check_tensor(tensor, op, what)
        if len(tensor.shape) not in ranks:
            raise ValueError(f"{self._where(op)}: {what} must have rank {' or '.join(map(str, ranks))}, "
                             f"got shape {self.shape(tensor)}")

    def _check_float(self, tensor, op, what="input"):
        self._check_tensor(tensor, op, what)
        if self.torch_dtype(tensor) not in _FLOAT_DTYPES:
            raise TypeError(f"{self._where(op)}: {what} must be a floating tensor, got {self.torch_dtype(tensor)} "
                            f"with shape {self.shape(tensor)}")

    def addConstant(self, value, dtype: torch.dtype | None = None, name: str | None = None):
        """A constant tensor from a numpy array, torch tensor or python number. Floating values are cast to
        ``dtype`` (default: the network dtype). The helper keeps the buffer alive for TensorRT."""
        array = value.detach().cpu() if isinstance(value, torch.Tensor) else torch.as_tensor(np.asarray(value))
        if dtype is None:
            dtype = self.dtype if array.is_floating_point() else array.dtype
        host_dtype = torch.float32 if dtype == torch.bfloat16 else dtype
        buffer = array.to(host_dtype).contiguous().numpy().copy()  # np.ascontiguousarray would make 0-d 1-d
        key = (str(dtype), buffer.shape, buffer.tobytes()) if buffer.size <= 16 else None
        if key in self._small_constants:
            return self._small_constants[key]
        self._weights.append(buffer)
        weights = self.trt.Weights(buffer) if buffer.size else self.trt.Weights(self.backend.dtype(host_dtype))
        layer = self._finish(self.network.add_constant(tuple(buffer.shape), weights), "constant", name)
        out = layer.get_output(0)
        out = out if dtype == host_dtype else self.addCast(out, dtype)
        if key is not None:
            self._small_constants[key] = out
        return out

    def _scalar_like(self, value, like, op):
        """A python number as a constant of ``like``'s dtype and rank (for broadcasting)."""
        dtype = self.torch_dtype(like)
        if dtype == torch.bool or (not dtype.is_floating_point and not float(value).is_integer()):
            raise TypeError(f"{self._where(op)}: cannot combine {dtype} tensor of shape {self.shape(like)} with {value!r}")
        return self.addConstant(torch.full((1,) * len(like.shape), value, dtype=torch.float64).to(
            torch.float32 if dtype == torch.bfloat16 else dtype), dtype=dtype, name=f"{op}_scalar")

    # ----------------------------------------------------------------- build and evaluate
    def build(self, path, *, targets=None, workspace: int | None = None, timing_cache=None, progress=None):
        """Write the network to a ``.plan`` atomically; see :func:`trt_helper.builder.build`. Returns a
        :class:`~trt_helper.builder.BuildReport`."""
        from .builder import build

        return build(self, path, targets=targets, workspace=workspace, timing_cache=timing_cache, progress=progress)

    def reference(self, inputs: dict, device="cpu", debug: bool = False) -> dict[str, torch.Tensor]:
        """Evaluate the network with the reference executor. ``debug=True`` returns every tensor by name, plus
        each module's output under its module path (``path:i`` for tuple outputs)."""
        from . import reference

        values = reference.run(self.network, inputs, device=device, debug=debug)
        if debug:
            for path, out in self.module_outputs.items():
                outs = out if isinstance(out, (tuple, list)) else [out]
                for i, tensor in enumerate(outs):
                    if isinstance(tensor, self.trt.ITensor) and tensor.name in values:
                        values[path if len(outs) == 1 else f"{path}:{i}"] = values[tensor.name]
        return values
