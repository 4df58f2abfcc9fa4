"""NetworkCore: what every op builds on — the network, options, naming, module scopes, checks and weights.

Ops (``trt_helper/ops/``, ``trt_helper/plugins/``) use only this public surface: ``where()`` for error
prefixes, ``finish(layer, *inputs)`` to name a new layer, ``check_*`` / ``dim`` / ``axes`` for argument checks,
``weights`` / ``keep_alive`` for buffers TensorRT reads at build time, the ``impl``, ``fp32_islands`` and
linear weight format (``weight_format``, ``group_size``, ``quantized``) options, and ``memo`` for tensors built
once per network.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from typing_extensions import TypeIs

from ..backend import get_backend
from ..builder import shared_builder
from ..quant.weight import GROUP_SIZES, QuantizedWeight
from .registry import ITensor

FLOAT_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
IMPLS = ("auto", "native", "plugin")
WEIGHT_FORMATS = {"fp": None, "int8": 8, "int4": 4}  # linear weight format -> bits


@dataclass
class Scope:
    """A module's scope while its layers are added: its path, and its output once :meth:`record` ed."""

    path: str
    module: nn.Module | None
    output: Any = None

    def record(self, output: Any) -> Any:
        """Keep ``output`` as the module's output (``helper.module_outputs[path]``) and return it."""
        self.output = output
        return output


@dataclass
class WeightSource:
    """Where a network weight's values come from: a state-dict ``key`` of the registered model (``shape`` is the
    parameter's; the network holds it reshaped to ``view`` in ``dtype`` at ``data_ptr``), or, for a computed
    constant, ``key`` None and the ``value`` itself."""

    key: str | None
    shape: tuple[int, ...]
    view: tuple[int, ...]
    dtype: torch.dtype
    data_ptr: int
    value: torch.Tensor | None = None


@dataclass
class _Frame:
    op: str
    base: str  # layer-name stem under the scope path ("" = the path itself)
    depth: int  # number of scopes open when the op started
    error_mark: int  # TensorRT errors logged before the op started


class NetworkCore:
    """The network and the bookkeeping shared by every op; :class:`~trt_helper.NetworkHelper` adds inputs,
    outputs, module dispatch, build and reference on top."""

    def __init__(
        self,
        dtype: torch.dtype = torch.float32,
        name: str = "network",
        impl: str = "auto",
        fp32_islands: bool = True,
        weights: str = "fp",
        group_size: int | None = None,
        quantized: Mapping[str, QuantizedWeight | None] | None = None,
    ):
        if dtype not in FLOAT_DTYPES:
            raise TypeError(f"NetworkHelper(dtype={dtype}): expected one of {list(FLOAT_DTYPES)}")
        if impl not in IMPLS:
            raise ValueError(f"NetworkHelper(impl={impl!r}): expected one of {list(IMPLS)}")
        if weights not in WEIGHT_FORMATS:
            raise ValueError(f"NetworkHelper(weights={weights!r}): expected one of {list(WEIGHT_FORMATS)}")
        if group_size not in GROUP_SIZES:
            raise ValueError(f"NetworkHelper(group_size={group_size!r}): expected one of {list(GROUP_SIZES)}")
        self.backend = get_backend()
        self.trt = self.backend.trt
        self.builder, self.logger = shared_builder(self.trt)
        flags = 0
        if self.backend.name == "trt" and hasattr(self.trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED"):
            flags = 1 << int(self.trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
        self.network = self.builder.create_network(flags)
        self.network.name = name
        self.dtype = dtype
        self.name = name
        self.impl = impl
        self.fp32_islands = fp32_islands
        self.weight_format = weights
        self.group_size = group_size
        # module path -> weight (e.g. AWQ), None: that module stays in the network dtype
        self.quantized: dict[str, QuantizedWeight | None] = dict(quantized or {})
        self.module_outputs: dict[str, Any] = {}
        self.module_inputs: dict[str, tuple[type, Any]] = {}  # path -> (module type, first input) of helper(module, x)
        self.profiles: list[dict[str, tuple[tuple[int, ...], ...]]] = [{}]  # input -> (min, opt, max) per profile
        self._buffers: list[Any] = []  # host memory TensorRT reads until the plan is built
        self._casts: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}  # (source, its copy) per source and dtype
        self._params: dict[tuple[int, int], tuple[str, tuple[int, ...]]] = {}  # (data_ptr, numel) -> state-dict key
        self._sources: dict[int, tuple[Any, WeightSource]] = {}  # id(trt.Weights) -> (weights, source)
        self._counted: set[int] = set()
        self.weight_bytes = 0  # bytes of the distinct host buffers handed to TensorRT
        self.refit_map: dict[str, WeightSource] = {}  # weights name -> where its values come from
        self._module_paths: dict[int, str] = {}
        self._scopes: list[Scope] = []
        self._frames: list[_Frame] = []
        self._used_names: set[str] = set()
        self._producers: dict[str, Any] = {}  # tensor name -> the layer that made it
        self._module_names: set[str] = set()  # layers named after the module whose output they make
        self._memo: dict[Any, Any] = {}

    # ------------------------------------------------------------------ scopes and names
    def current_path(self) -> str:
        """The module path layers are being added under (the network name outside any module)."""
        return self._scopes[-1].path if self._scopes else self.name

    def where(self) -> str:
        """``"addX at 'module.path'"``: the prefix of every error, naming the op the model code called."""
        op = self._frames[0].op if self._frames else "network"
        return f"{op} at '{self.current_path()}'"

    def setModel(self, model: nn.Module, prefix: str = "") -> None:
        """Name layers of ``model``'s submodules by their paths in it (``encoder.layers.3.feed_forward.w_1``)."""
        for path, module in model.named_modules(prefix=prefix):
            self._module_paths.setdefault(id(module), path or self.name)
        for key, tensor in model.state_dict(keep_vars=True).items():
            if tensor.numel() and tensor.is_contiguous():
                self._params.setdefault((tensor.data_ptr(), tensor.numel()), (key, tuple(tensor.shape)))

    def module_path(self, module: nn.Module) -> str:
        """The module's path in the registered model, or a fresh name under the current scope."""
        path = self._module_paths.get(id(module))
        if path is None:
            path = self.unique(f"{self.current_path()}.{type(module).__name__.lower()}")
            self._module_paths[id(module)] = path
        return path

    @contextlib.contextmanager
    def scope(self, module: nn.Module, name: str | None = None) -> Iterator[Scope]:
        """Add layers under ``module``'s path (or ``<current path>.<name>``); what is passed to
        ``Scope.record`` becomes ``module_outputs[path]``. Re-entering the open module's scope reuses it."""
        if self._scopes and self._scopes[-1].module is module and name is None:
            yield self._scopes[-1]
            return
        path = self.unique(f"{self.current_path()}.{name}") if name else self.module_path(module)
        scope = Scope(path, module)
        self._scopes.append(scope)
        try:
            yield scope
        finally:
            self._scopes.pop()
        if scope.output is not None:
            self._name_after_module(scope.output, path)
            self.module_outputs[path] = scope.output

    def _name_after_module(self, output: Any, path: str) -> None:
        """Give the layer that made a module's output the module's path as its name (so TensorRT's messages and
        per-layer timings read like the model), when that layer belongs to the module and is not already named
        after a submodule."""
        layer = self._producers.get(output.name) if self.is_tensor(output) else None
        if (
            layer is None
            or layer.num_outputs != 1
            or not layer.name.startswith(path + ".")
            or layer.name in self._module_names
            or path in self._used_names
        ):
            return
        self._used_names.add(path)
        self._module_names.add(path)
        del self._producers[output.name]
        layer.name = output.name = path
        self._producers[path] = layer

    @contextlib.contextmanager
    def op_frame(self, op: str, name: str | None, module_op: bool = False) -> Iterator[None]:
        """Run an op: errors name it (see :meth:`where`) and its layers are named ``<path>.<stem>``, where the
        stem is ``name``, else the op's short name (``addMatMul`` → ``matmul``), prefixed by the calling op's
        stem when one op calls another."""
        depth = len(self._scopes)
        parent = self._frames[-1] if self._frames and self._frames[-1].depth == depth else None
        stem = "" if module_op else (name or (op[3:] if op.startswith("add") else op).lower())
        if parent is not None and parent.base and stem:
            stem = f"{parent.base}.{stem}"
        self._frames.append(_Frame(op, stem, depth, len(self.logger.errors)))
        try:
            yield
        finally:
            self._frames.pop()

    def unique(self, name: str) -> str:
        """``name``, or ``name_1``, ``name_2`` … if taken: layer and tensor names are unique in a network."""
        candidate, n = name, 1
        while candidate in self._used_names:
            candidate, n = f"{name}_{n}", n + 1
        self._used_names.add(candidate)
        return candidate

    def finish(self, layer: Any, *inputs: ITensor) -> Any:
        """Name a layer the current op just added (and its outputs); if TensorRT returned None, raise with the
        op, the module path, the input shapes and the TensorRT errors logged since the op started."""
        if layer is None:
            mark = self._frames[-1].error_mark if self._frames else len(self.logger.errors)
            errors = "; ".join(self.logger.errors[mark:]) or "no TensorRT error message"
            raise ValueError(
                f"{self.where()}: TensorRT could not add the layer for input shapes "
                f"{[self.shape(t) for t in inputs]}: {errors}"
            )
        stem = self._frames[-1].base if self._frames else "layer"
        path = self.current_path()
        layer.name = self.unique(f"{path}.{stem}" if stem else path)
        for i in range(layer.num_outputs):
            out = layer.get_output(i)
            out.name = layer.name if layer.num_outputs == 1 else f"{layer.name}:{i}"
            self._producers[out.name] = layer
        return layer

    def errors_since(self, mark: int) -> str:
        """TensorRT errors logged after ``mark`` (a length of ``logger.errors``), joined."""
        return "; ".join(self.logger.errors[mark:]) or "no TensorRT error message"

    # ------------------------------------------------------------------ per-network state and options
    def memo(self, key: Any, make: Callable[[], Any] | None = None) -> Any:
        """``make()`` the first time ``key`` is asked for in this network, the same value afterwards (e.g. a
        batch-size tensor or a mask shared by every layer). Without ``make``: the stored value or None."""
        if key not in self._memo:
            if make is None:
                return None
            self._memo[key] = make()
        return self._memo[key]

    # ------------------------------------------------------------------ weights
    def keep_alive(self, buffer: Any) -> Any:
        """Hold ``buffer`` (host memory TensorRT reads at build time) as long as the network lives."""
        self._buffers.append(buffer)
        return buffer

    def host_tensor(self, value: Any, dtype: torch.dtype) -> torch.Tensor:
        """``value`` as a contiguous CPU tensor of ``dtype`` (bf16 stays fp32 on the host: numpy has no bf16),
        sharing the module's memory when no conversion is needed."""
        tensor = value.detach() if isinstance(value, torch.Tensor) else torch.as_tensor(value)
        host_dtype = torch.float32 if dtype == torch.bfloat16 else dtype
        return tensor.to(device="cpu", dtype=host_dtype).contiguous()

    def weights(self, value: Any, dtype: torch.dtype) -> Any:
        """``trt.Weights`` over ``value`` in ``dtype`` (bf16 not allowed here), kept alive for TensorRT: the tensor's
        own memory when it is a contiguous CPU tensor of ``dtype``, else one converted copy per source tensor and
        dtype. Name them with :meth:`name_weights` once the layer that reads them is added."""
        tensor = value.detach() if isinstance(value, torch.Tensor) else torch.as_tensor(value)
        if not tensor.numel():
            return self.trt.Weights(self.trt_dtype(dtype))
        cast_key = (tensor.data_ptr(), tensor.numel(), tuple(tensor.stride()), tensor.dtype, tensor.device, dtype)
        cached = self._casts.get(cast_key)
        host = cached[1] if cached is not None else None
        if host is None:
            host = self.host_tensor(tensor, dtype)
            if host.data_ptr() != tensor.data_ptr():  # a converted copy: one per source tensor and dtype
                # the source is kept too: a freed temporary's address could be reused by another tensor
                self._casts[cast_key] = (tensor, host)
            if host.data_ptr() not in self._counted:
                self._counted.add(host.data_ptr())
                self.weight_bytes += host.nbytes
        host = self.keep_alive(host.view(tensor.shape))
        weights = self.trt.Weights(host.numpy())
        param = self._params.get((tensor.data_ptr(), tensor.numel())) if tensor.is_contiguous() else None
        view = tuple(tensor.shape)
        source = (
            WeightSource(param[0], param[1], view, dtype, host.data_ptr())
            if param is not None
            else WeightSource(None, view, view, dtype, host.data_ptr(), host)
        )
        self._sources[id(weights)] = (weights, source)
        return weights

    def name_weights(self, weights: Any, name: str) -> None:
        """Name ``weights`` (just used by a layer) for refitting: the state-dict key of the model parameter they
        view (``blocks.0.feed_forward.w_1.weight``), else ``name`` (the layer's)."""
        entry = self._sources.pop(id(weights), None)
        if entry is None:  # empty weights
            return
        source = entry[1]
        known = self.refit_map.get(source.key) if source.key else None
        if known is not None and known.dtype == source.dtype:
            return  # the same parameter again: TensorRT names every use of one pointer, count and type at once
        mark = len(self.logger.errors)
        for candidate in (source.key, name):
            if candidate and candidate not in self.refit_map and self.network.set_weights_name(weights, candidate):
                self.refit_map[candidate] = source
                return
        raise ValueError(f"{self.where()}: TensorRT refused the weights name '{name}': {self.errors_since(mark)}")

    # ------------------------------------------------------------------ dtypes, shapes, checks
    def shape(self, tensor: ITensor) -> tuple[int, ...]:
        """The tensor's shape as known when the network is defined (-1 for dynamic dims)."""
        return tuple(tensor.shape)

    def torch_dtype(self, tensor: ITensor) -> torch.dtype:
        """The torch dtype of a network tensor."""
        return self.backend.torch_dtype(tensor.dtype)

    def trt_dtype(self, dtype: torch.dtype) -> Any:
        """The ``trt.DataType`` of a torch dtype; a ``TypeError`` naming the op for one TensorRT lacks."""
        try:
            return self.backend.dtype(dtype)
        except TypeError as error:
            raise TypeError(f"{self.where()}: {error}") from None

    def is_tensor(self, value: Any) -> TypeIs[ITensor]:
        """``value`` is a network tensor."""
        return isinstance(value, self.trt.ITensor)

    def check_tensor(self, tensor: Any, what: str = "input") -> None:
        """``tensor`` is a network tensor, else a TypeError naming the op, the module path and ``what``."""
        if not self.is_tensor(tensor):
            raise TypeError(f"{self.where()}: {what} must be a network tensor (ITensor), got {type(tensor).__name__}")

    def check_rank(self, tensor: Any, ranks: Sequence[int], what: str = "input") -> None:
        """``tensor`` is a network tensor of one of ``ranks``, else an error with its shape."""
        self.check_tensor(tensor, what)
        if len(tensor.shape) not in ranks:
            raise ValueError(
                f"{self.where()}: {what} must have rank {' or '.join(map(str, ranks))}, got shape {self.shape(tensor)}"
            )

    def check_float(self, tensor: Any, what: str = "input") -> None:
        """``tensor`` is a floating network tensor, else a TypeError with its dtype and shape."""
        self.check_tensor(tensor, what)
        if self.torch_dtype(tensor) not in FLOAT_DTYPES:
            raise TypeError(
                f"{self.where()}: {what} must be a floating tensor, got {self.torch_dtype(tensor)} "
                f"with shape {self.shape(tensor)}"
            )

    def check_lengths(self, lengths: Any) -> None:
        """``lengths`` is an int32 (B,) tensor (positions ``t >= lengths[b]`` are padding)."""
        self.check_rank(lengths, (1,), "lengths")
        if self.torch_dtype(lengths) != torch.int32:
            raise TypeError(
                f"{self.where()}: lengths must be int32 (B,), got {self.torch_dtype(lengths)} {self.shape(lengths)}"
            )

    def dim(self, x: ITensor, dim: int) -> int:
        """``dim`` of ``x`` made non-negative; a ValueError when out of range."""
        rank = len(x.shape)
        if not -rank <= dim < rank:
            raise ValueError(f"{self.where()}: dim {dim} is out of range for shape {self.shape(x)}")
        return dim % rank

    def axes(self, x: ITensor, dims: int | Sequence[int]) -> int:
        """The TensorRT axes bit mask of ``dims`` of ``x``."""
        mask = 0
        for d in [dims] if isinstance(dims, int) else dims:
            mask |= 1 << self.dim(x, d)
        return mask
