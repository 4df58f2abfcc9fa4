"""Ops that take a torch module and read its weights: Linear, Conv1d/2d, LayerNorm, BatchNorm1d, Embedding.

Each names its layers from the module's path in the model, so an error or a numeric mismatch points at a line of
the PyTorch model.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn


class ModuleOps:
    """addLinear, addConv1d, addConv2d, addLayerNorm, addBatchNorm1d, addEmbedding."""

    @contextlib.contextmanager
    def _module_scope(self, module, expected_type, op):
        if not isinstance(module, expected_type):
            raise TypeError(f"{self._where(op)}: expected a {expected_type.__name__}, got {type(module).__name__}")
        path = self.module_path(module)
        self._scope.append(path)
        try:
            yield path
        finally:
            self._scope.pop()

    def _record(self, path, tensor):
        self.module_outputs[path] = tensor
        return tensor

    def _check_features(self, x, dim, expected, op, path, what):
        size = self.shape(x)[dim]
        if size != -1 and size != expected:
            raise ValueError(f"{op} at '{path}': input shape {self.shape(x)} has {size} {what} in dim {dim}, "
                             f"the module expects {expected}")

    def addLinear(self, module: nn.Linear, x, name=None):
        """``module(x)`` for ``torch.nn.Linear``: ``x @ W.T + b`` for x of rank >= 2 (…, in_features)."""
        op = "addLinear"
        with self._module_scope(module, nn.Linear, op) as path:
            self._check_rank(x, op, range(2, 9))
            self._check_float(x, op)
            self._check_features(x, -1, module.in_features, op, path, "features")
            rank = len(x.shape)
            weight = self.addConstant(module.weight.reshape((1,) * (rank - 2) + tuple(module.weight.shape)),
                                      dtype=self.torch_dtype(x), name="weight")
            out = self.addMatMul(x, weight, transpose_b=True, name=None if module.bias is not None else path)
            if module.bias is not None:
                bias = self.addConstant(module.bias.reshape((1,) * (rank - 1) + (-1,)), dtype=self.torch_dtype(x),
                                        name="bias")
                out = self.addAdd(out, bias, name=path)
            return self._record(path, out)

    def _convolution(self, module, x, op, path, kernel, stride, padding, dilation):
        weight = module.weight.detach().reshape(module.out_channels, module.in_channels // module.groups, *kernel)
        dtype = self.torch_dtype(x)
        kernel_w = self._weights_of(weight, dtype)
        bias_w = self._weights_of(module.bias.detach(), dtype) if module.bias is not None else self.trt.Weights(
            self.backend.dtype(dtype))
        if dtype == torch.bfloat16:
            raise TypeError(f"{op} at '{path}': bf16 convolutions are not supported; cast the input to fp16 or fp32")
        layer = self.network.add_convolution_nd(x, module.out_channels, tuple(kernel), kernel_w, bias_w)
        if layer is not None:
            layer.stride_nd, layer.padding_nd, layer.dilation_nd = tuple(stride), tuple(padding), tuple(dilation)
            layer.num_groups = module.groups
        return self._finish(layer, op, path, (x,), absolute=True).get_output(0)

    def _weights_of(self, tensor, dtype):
        buffer = tensor.detach().cpu().to(dtype).contiguous().numpy()
        self._weights.append(buffer)
        return self.trt.Weights(buffer)

    def _conv_checks(self, module, x, op, path, rank, spatial):
        self._check_rank(x, op, (rank,))
        self._check_float(x, op)
        self._check_features(x, 1, module.in_channels, op, path, "channels")
        if module.padding_mode != "zeros" or isinstance(module.padding, str):
            if module.padding != "valid" and module.padding_mode == "zeros" and module.padding != "same":
                raise ValueError(f"{op} at '{path}': unsupported padding {module.padding!r}")
            if module.padding_mode != "zeros":
                raise ValueError(f"{op} at '{path}': padding_mode={module.padding_mode!r}; only 'zeros' is supported")
        if module.padding == "same":
            padding = [d * (k - 1) // 2 for d, k in zip(module.dilation, module.kernel_size)]
            if any(d * (k - 1) % 2 for d, k in zip(module.dilation, module.kernel_size)):
                raise ValueError(f"{op} at '{path}': padding='same' with an even receptive field is asymmetric; "
                                 f"pad explicitly with addPad")
            return padding
        return [0] * spatial if module.padding == "valid" else list(module.padding)

    def addConv1d(self, module: nn.Conv1d, x, name=None):
        """``module(x)`` for ``torch.nn.Conv1d`` on x (B, C, T) — run as a 2-D convolution over (B, C, 1, T)."""
        op = "addConv1d"
        with self._module_scope(module, nn.Conv1d, op) as path:
            padding = self._conv_checks(module, x, op, path, 3, 1)
            x4 = self.addUnsqueeze(x, 2, name="as_2d")
            y4 = self._convolution(module, x4, op, f"{path}.conv", (1, module.kernel_size[0]),
                                   (1, module.stride[0]), (0, padding[0]), (1, module.dilation[0]))
            return self._record(path, self.addSqueeze(y4, 2, name=path))

    def addConv2d(self, module: nn.Conv2d, x, name=None):
        """``module(x)`` for ``torch.nn.Conv2d`` on x (B, C, H, W)."""
        op = "addConv2d"
        with self._module_scope(module, nn.Conv2d, op) as path:
            padding = self._conv_checks(module, x, op, path, 4, 2)
            out = self._convolution(module, x, op, path, module.kernel_size, module.stride, padding, module.dilation)
            return self._record(path, out)

    def addLayerNorm(self, module: nn.LayerNorm, x, impl: str = "native", name=None):
        """``module(x)`` for ``torch.nn.LayerNorm`` (eps honoured). Statistics run in fp32 inside fp16/bf16
        networks (``fp32_islands``). ``impl``: ``"native"`` (INormalizationLayer), ``"plugin"`` (the
        trt_helper LayerNorm plugin) or ``"auto"`` (the plugin where the backend can add plugin layers)."""
        op = "addLayerNorm"
        with self._module_scope(module, nn.LayerNorm, op) as path:
            self._check_float(x, op)
            shape = tuple(module.normalized_shape)
            if len(x.shape) < len(shape) or any(a != b and a != -1 for a, b in zip(self.shape(x)[-len(shape):], shape)):
                raise ValueError(f"{op} at '{path}': input shape {self.shape(x)} does not end with normalized_shape "
                                 f"{shape}")
            if self._resolve_impl(impl, op) == "plugin":
                return self._record(path, self._plugin_layer_norm(module, x, path))
            return self._record(path, self._in_fp32(x, lambda t: self._normalization(module, t, path), path))

    def _normalization(self, module, x, path):
        rank, shape = len(x.shape), tuple(module.normalized_shape)
        dtype = self.torch_dtype(x)
        ones = torch.ones(shape)
        gamma = module.weight if module.weight is not None else ones
        beta = module.bias if module.bias is not None else torch.zeros(shape)
        lead = (1,) * (rank - len(shape))
        scale = self.addConstant(gamma.detach().reshape(lead + shape), dtype=dtype, name="gamma")
        bias = self.addConstant(beta.detach().reshape(lead + shape), dtype=dtype, name="beta")
        axes = sum(1 << d for d in range(rank - len(shape), rank))
        add = getattr(self.network, "add_normalization_v2", None) or self.network.add_normalization
        layer = add(x, scale, bias, axes)
        if layer is not None:
            layer.epsilon = float(module.eps)
        return self._finish(layer, "addLayerNorm", f"{path}.norm", (x,), absolute=True).get_output(0)

    def addBatchNorm1d(self, module: nn.BatchNorm1d, x, name=None):
        """``module(x)`` for ``torch.nn.BatchNorm1d`` in eval mode (running statistics) on (B, C) or (B, C, T)."""
        op = "addBatchNorm1d"
        with self._module_scope(module, nn.BatchNorm1d, op) as path:
            self._check_rank(x, op, (2, 3))
            self._check_float(x, op)
            self._check_features(x, 1, module.num_features, op, path, "channels")
            if module.running_mean is None:
                raise ValueError(f"{op} at '{path}': track_running_stats=False has no running statistics to fold")
            scale = torch.rsqrt(module.running_var.double() + module.eps)
            if module.weight is not None:
                scale = scale * module.weight.double()
            shift = -module.running_mean.double() * scale
            if module.bias is not None:
                shift = shift + module.bias.double()
            shape = (1, -1) + (1,) * (len(x.shape) - 2)
            dtype = self.torch_dtype(x)
            out = self.addMul(x, self.addConstant(scale.reshape(shape), dtype=dtype, name="scale"))
            return self._record(path, self.addAdd(out, self.addConstant(shift.reshape(shape), dtype=dtype,
                                                                        name="shift"), name=path))

    def addEmbedding(self, module: nn.Embedding, ids, name=None):
        """``module(ids)`` for ``torch.nn.Embedding``: int ids of any shape → ids.shape + (embedding_dim,)."""
        op = "addEmbedding"
        with self._module_scope(module, nn.Embedding, op) as path:
            self._check_tensor(ids, op, "ids")
            if self.torch_dtype(ids) not in (torch.int32, torch.int64):
                raise TypeError(f"{op} at '{path}': ids must be int32/int64, got {self.torch_dtype(ids)} "
                                f"{self.shape(ids)}")
            table = self.addConstant(module.weight, name="weight")
            return self._record(path, self.addIndexSelect(table, 0, ids, name=path))


def _leaf(method):
    return lambda helper, module, x: getattr(helper, method)(x, name=helper.module_path(module))


#: torch.nn leaf modules that ``helper(module, x)`` maps straight to an op.
LEAF_MODULES = [
    (nn.Linear, lambda h, m, x: h.addLinear(m, x)),
    (nn.Conv1d, lambda h, m, x: h.addConv1d(m, x)),
    (nn.Conv2d, lambda h, m, x: h.addConv2d(m, x)),
    (nn.LayerNorm, lambda h, m, x: h.addLayerNorm(m, x)),
    (nn.BatchNorm1d, lambda h, m, x: h.addBatchNorm1d(m, x)),
    (nn.Embedding, lambda h, m, x: h.addEmbedding(m, x)),
    (nn.ReLU, _leaf("addReLU")),
    (nn.SiLU, _leaf("addSiLU")),
    (nn.Sigmoid, _leaf("addSigmoid")),
    (nn.Tanh, _leaf("addTanh")),
    (nn.GELU, lambda h, m, x: h.addGELU(x, m.approximate, name=h.module_path(m))),
    (nn.GLU, lambda h, m, x: h.addGLU(x, m.dim, name=h.module_path(m))),
    (nn.Dropout, lambda h, m, x: x),
    (nn.Identity, lambda h, m, x: x),
]
