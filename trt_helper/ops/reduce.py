"""Reductions, softmax and top-k."""

from __future__ import annotations

import torch


class ReduceOps:
    """addSum, addMean, addMax, addMin, addSoftmax, addLogSoftmax, addTopK, addArgMax, addArgMin."""

    def _dim(self, x, dim: int, op: str) -> int:
        rank = len(x.shape)
        if not -rank <= dim < rank:
            raise ValueError(f"{self._where(op)}: dim {dim} is out of range for shape {self.shape(x)}")
        return dim % rank

    def _axes(self, x, dim, op):
        dims = [dim] if isinstance(dim, int) else list(dim)
        mask = 0
        for d in dims:
            mask |= 1 << self._dim(x, d, op)
        return mask

    def _reduce(self, x, dim, keepdim, operation, op, name):
        self._check_tensor(x, op)
        if dim is None:
            dim = list(range(len(x.shape)))
        layer = self.network.add_reduce(x, getattr(self.trt.ReduceOperation, operation), self._axes(x, dim, op),
                                        keepdim)
        return self._finish(layer, op, name, (x,)).get_output(0)

    def addSum(self, x, dim=None, keepdim=False, name=None):
        """``torch.sum(x, dim, keepdim)``; ``dim`` is an int, a list, or None for all dims."""
        return self._reduce(x, dim, keepdim, "SUM", "addSum", name)

    def addMean(self, x, dim=None, keepdim=False, name=None):
        """``torch.mean(x, dim, keepdim)``."""
        self._check_float(x, "addMean")
        return self._reduce(x, dim, keepdim, "AVG", "addMean", name)

    def addMax(self, x, dim=None, keepdim=False, name=None):
        """``torch.amax(x, dim, keepdim)`` (values only; :meth:`addTopK` / :meth:`addArgMax` give indices)."""
        return self._reduce(x, dim, keepdim, "MAX", "addMax", name)

    def addMin(self, x, dim=None, keepdim=False, name=None):
        """``torch.amin(x, dim, keepdim)``."""
        return self._reduce(x, dim, keepdim, "MIN", "addMin", name)

    def _in_fp32(self, x, fn, name):
        """Run ``fn`` on ``x`` in fp32 when ``x`` is fp16/bf16 and fp32 islands are on, then cast back."""
        dtype = self.torch_dtype(x)
        if not self.fp32_islands or dtype == torch.float32:
            return fn(x)
        return self.addCast(fn(self.addCast(x, torch.float32, name=f"{name}_to_fp32")), dtype, name=f"{name}_back")

    def addSoftmax(self, x, dim: int, name=None):
        """``torch.softmax(x, dim)``; computed in fp32 inside fp16/bf16 networks (``fp32_islands``)."""
        op = "addSoftmax"
        self._check_float(x, op)
        axes = self._axes(x, dim, op)

        def softmax(t):
            layer = self.network.add_softmax(t)
            if layer is not None:
                layer.axes = axes
            return self._finish(layer, op, name, (t,)).get_output(0)

        return self._in_fp32(x, softmax, name or "softmax")

    def addLogSoftmax(self, x, dim: int, name=None):
        """``torch.log_softmax(x, dim)`` as ``x - max - log(sum(exp(x - max)))``, in fp32 islands like softmax."""
        op = "addLogSoftmax"
        self._check_float(x, op)
        dim = self._dim(x, dim, op)
        base = name or "log_softmax"

        def log_softmax(t):
            shifted = self.addSub(t, self.addMax(t, dim, keepdim=True, name=f"{base}_max"), name=f"{base}_shift")
            total = self.addSum(self.addExp(shifted, name=f"{base}_exp"), dim, keepdim=True, name=f"{base}_sum")
            return self.addSub(shifted, self.addLog(total, name=f"{base}_log"), name=base)

        return self._in_fp32(x, log_softmax, base)

    def addTopK(self, x, k: int, dim: int = -1, largest: bool = True, name=None):
        """``torch.topk(x, k, dim)`` → ``(values, indices)``; indices are int32 (TensorRT's index type)."""
        op = "addTopK"
        self._check_tensor(x, op)
        size = self.shape(x)[self._dim(x, dim, op)]
        if k < 1 or (size != -1 and k > size):
            raise ValueError(f"{self._where(op)}: k={k} must be in 1..{size} for dim {dim} of {self.shape(x)}")
        operation = self.trt.TopKOperation.MAX if largest else self.trt.TopKOperation.MIN
        layer = self.network.add_topk(x, operation, k, self._axes(x, dim, op))
        layer = self._finish(layer, op, name, (x,))
        return layer.get_output(0), layer.get_output(1)

    def addArgMax(self, x, dim: int, keepdim=False, name=None):
        """``torch.argmax(x, dim, keepdim)`` as int32."""
        _, index = self.addTopK(x, 1, dim, name=name or "argmax")
        return index if keepdim else self.addSqueeze(index, dim, name=f"{name or 'argmax'}_squeeze")

    def addArgMin(self, x, dim: int, keepdim=False, name=None):
        """``torch.argmin(x, dim, keepdim)`` as int32."""
        _, index = self.addTopK(x, 1, dim, largest=False, name=name or "argmin")
        return index if keepdim else self.addSqueeze(index, dim, name=f"{name or 'argmin'}_squeeze")
