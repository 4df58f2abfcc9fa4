"""Run a ``.plan`` with torch CUDA tensors where a TensorRT runtime and a supported GPU exist."""

from __future__ import annotations

from pathlib import Path

import torch

from . import refit, sidecar
from .backend import get_backend


class Engine:
    """A deserialized plan, callable with torch CUDA tensors by input name.

    Args:
        plan_path: the ``.plan`` file.
        runtime_cache: TensorRT-RTX only: a runtime (JIT kernel) cache file, read if present and written by
            :meth:`save_runtime_cache`.

    Raises:
        RuntimeError: no CUDA GPU, or the backend cannot deserialize the plan on this GPU (TensorRT-RTX refuses
            compute capability 9.0, e.g. H100/H200).
        refit_from: for a weight-stripped plan (``build(..., strip_weights=True)``): the PyTorch module, state dict
            or checkpoint file whose weights are refitted into the engine, mapped by state-dict key (see
            :mod:`trt_helper.refit`); the weights are checked before a GPU is asked for.
    """

    def __init__(self, plan_path, runtime_cache=None, refit_from=None):
        stripped = sidecar.path_of(plan_path).is_file() and bool(sidecar.read(plan_path).get("refit"))
        if stripped and refit_from is None:
            raise ValueError(
                f"Engine('{plan_path}'): the plan is weight-stripped; pass refit_from= the module, state "
                "dict or checkpoint it was built from"
            )
        weights = refit.weights_for(plan_path, refit_from) if refit_from is not None else None
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"Engine('{plan_path}'): a TensorRT engine needs a CUDA GPU and torch sees none; "
                f"use NetworkHelper.reference() to evaluate the network on CPU"
            )
        self.backend = get_backend()
        trt = self.backend.trt
        self.runtime = trt.Runtime(self.backend.logger)
        self.engine = self.runtime.deserialize_cuda_engine(Path(plan_path).read_bytes())
        if self.engine is None:
            raise RuntimeError(
                f"Engine('{plan_path}'): {self.backend.trt.__name__} {self.backend.version} could not "
                f"load the plan on {torch.cuda.get_device_name()} (compute capability "
                f"{'.'.join(map(str, torch.cuda.get_device_capability()))})"
            )
        if weights is not None:
            refit.apply(self.engine, weights, self.backend)
            del weights
        self.runtime_cache_path = runtime_cache
        if self.backend.cache_kind == "runtime":
            config = self.engine.create_runtime_config()
            self.cache = config.create_runtime_cache()
            if runtime_cache and Path(runtime_cache).exists():
                self.cache.deserialize(Path(runtime_cache).read_bytes())
            config.set_runtime_cache(self.cache)
            self.context = self.engine.create_execution_context(config)
        else:
            self.context = self.engine.create_execution_context()
        if self.context is None:
            raise RuntimeError(f"Engine('{plan_path}'): could not create an execution context")
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.outputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]

    def __call__(self, **inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        """Run once on the current torch stream; returns outputs by name."""
        missing = set(self.inputs) - set(inputs)
        if missing:
            raise ValueError(f"Engine: missing inputs {sorted(missing)} (expects {self.inputs})")
        for name in self.inputs:
            tensor = inputs[name].cuda().contiguous()
            inputs[name] = tensor
            self.context.set_input_shape(name, tuple(tensor.shape))
            self.context.set_tensor_address(name, tensor.data_ptr())
        outputs = {}
        for name in self.outputs:
            shape = tuple(self.context.get_tensor_shape(name))
            dtype = self.backend.torch_dtype(self.engine.get_tensor_dtype(name))
            outputs[name] = torch.empty(shape, dtype=dtype, device="cuda")
            self.context.set_tensor_address(name, outputs[name].data_ptr())
        if not self.context.execute_async_v3(torch.cuda.current_stream().cuda_stream):
            raise RuntimeError("Engine: execute_async_v3 failed")
        return outputs

    def save_runtime_cache(self) -> None:
        """Write the TensorRT-RTX runtime cache to the file given at construction."""
        if self.backend.cache_kind == "runtime" and self.runtime_cache_path:
            Path(self.runtime_cache_path).write_bytes(memoryview(self.cache.serialize()))
