"""Activations and unary math, one TensorRT layer each where TensorRT has one."""

from __future__ import annotations

_UNARY = {"addSqrt": "SQRT", "addExp": "EXP", "addLog": "LOG", "addNeg": "NEG", "addAbs": "ABS", "addErf": "ERF",
          "addRecip": "RECIP", "addFloor": "FLOOR", "addCeil": "CEIL", "addSin": "SIN", "addCos": "COS",
          "addNot": "NOT"}
_ACTIVATIONS = {"addReLU": "RELU", "addSigmoid": "SIGMOID", "addTanh": "TANH"}


class PointwiseOps:
    """addReLU, addSiLU (Swish), addGELU, addSigmoid, addTanh, addGLU, addSqrt, addExp, addLog, addNeg, addAbs,
    addErf, addRecip, addFloor, addCeil, addSin, addCos, addNot, addClamp."""

    def _unary(self, x, operation, op, name):
        self._check_tensor(x, op)
        if operation != "NOT":
            self._check_float(x, op)
        layer = self.network.add_unary(x, getattr(self.trt.UnaryOperation, operation))
        return self._finish(layer, op, name, (x,)).get_output(0)

    def _activation(self, x, kind, op, name, alpha=None, beta=None):
        self._check_float(x, op)
        layer = self.network.add_activation(x, getattr(self.trt.ActivationType, kind))
        if layer is not None and alpha is not None:
            layer.alpha, layer.beta = alpha, beta
        return self._finish(layer, op, name, (x,)).get_output(0)

    def addSiLU(self, x, name=None):
        """``x * sigmoid(x)`` (SiLU, a.k.a. Swish)."""
        return self.addMul(x, self.addSigmoid(x, name=f"{name or 'silu'}_sigmoid"), name=name or "silu")

    def addGELU(self, x, approximate: str = "none", name=None):
        """GELU with the erf form (``approximate="none"``) or the tanh approximation (``"tanh"``)."""
        kinds = {"none": "GELU_ERF", "tanh": "GELU_TANH"}
        if approximate not in kinds:
            raise ValueError(f"{self._where('addGELU')}: approximate must be 'none' or 'tanh', got {approximate!r}")
        return self._activation(x, kinds[approximate], "addGELU", name)

    def addGLU(self, x, dim: int = -1, name=None):
        """``a * sigmoid(b)`` where ``a, b`` are the two halves of ``x`` along ``dim`` (torch.nn.functional.glu)."""
        op = "addGLU"
        self._check_float(x, op)
        dim = self._dim(x, dim, op)
        size = self.shape(x)[dim]
        if size == -1 or size % 2:
            raise ValueError(f"{self._where(op)}: dim {dim} of {self.shape(x)} must be static and even")
        a, b = self.addChunk(x, 2, dim, name=f"{name or 'glu'}_halves")
        return self.addMul(a, self.addSigmoid(b, name=f"{name or 'glu'}_gate"), name=name or "glu")

    def addClamp(self, x, min=None, max=None, name=None):
        """``torch.clamp(x, min, max)``; either bound may be None."""
        op = "addClamp"
        if min is None and max is None:
            raise ValueError(f"{self._where(op)}: give min, max or both")
        if min is not None and max is not None and self._is_float(x):
            return self._activation(x, "CLIP", op, name, alpha=float(min), beta=float(max))
        out = x
        if min is not None:
            out = self.addMaximum(out, min, name=f"{name or 'clamp'}_min")
        if max is not None:
            out = self.addMinimum(out, max, name=f"{name or 'clamp'}_max")
        return out

    def _is_float(self, x):
        return self.torch_dtype(x).is_floating_point


def _install(op, add, kind, family):
    """Add ``op(self, x, name=None)`` to PointwiseOps, calling ``add(self, x, kind, op, name)``."""
    def method(self, x, name=None):
        return add(self, x, kind, op, name)

    method.__name__ = op
    method.__doc__ = f"Elementwise ``{kind.lower()}`` (TensorRT {family} {kind})."
    setattr(PointwiseOps, op, method)


for _op, _operation in _UNARY.items():
    _install(_op, PointwiseOps._unary, _operation, "unary")
for _op, _kind in _ACTIVATIONS.items():
    _install(_op, PointwiseOps._activation, _kind, "activation")
