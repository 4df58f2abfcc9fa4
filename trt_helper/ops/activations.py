"""Activations: TensorRT activation layers, SiLU and GLU, and the torch.nn activation modules that map to them."""

from __future__ import annotations

from torch import nn

from ..core import ITensor, NetworkHelper, leaf, op
from .binary import addMul
from .split import addChunk


def activation(
    helper: NetworkHelper, x: ITensor, kind: str, alpha: float | None = None, beta: float | None = None
) -> ITensor:
    """One IActivationLayer of ``kind`` (a ``trt.ActivationType`` name) on a floating tensor."""
    helper.check_float(x)
    layer = helper.network.add_activation(x, getattr(helper.trt.ActivationType, kind))
    if layer is not None and alpha is not None:
        layer.alpha, layer.beta = alpha, beta
    return helper.finish(layer, x).get_output(0)


@op
def addReLU(helper: NetworkHelper, x: ITensor) -> ITensor:
    """``torch.relu(x)``.

    Example:
        >>> h = helper.addReLU(helper.addLinear(self.w_1, x))
    """
    return activation(helper, x, "RELU")


@op
def addSigmoid(helper: NetworkHelper, x: ITensor) -> ITensor:
    """``torch.sigmoid(x)``."""
    return activation(helper, x, "SIGMOID")


@op
def addTanh(helper: NetworkHelper, x: ITensor) -> ITensor:
    """``torch.tanh(x)``."""
    return activation(helper, x, "TANH")


@op
def addSiLU(helper: NetworkHelper, x: ITensor) -> ITensor:
    """``x * sigmoid(x)`` (SiLU, a.k.a. Swish).

    Example:
        >>> h = helper.addSiLU(helper.addLinear(self.w_1, x))
    """
    return addMul(helper, x, addSigmoid(helper, x))


@op
def addGELU(helper: NetworkHelper, x: ITensor, approximate: str = "none") -> ITensor:
    """GELU with the erf form (``approximate="none"``) or the tanh approximation (``"tanh"``)."""
    kinds = {"none": "GELU_ERF", "tanh": "GELU_TANH"}
    if approximate not in kinds:
        raise ValueError(f"{helper.where()}: approximate must be 'none' or 'tanh', got {approximate!r}")
    return activation(helper, x, kinds[approximate])


@op
def addGLU(helper: NetworkHelper, x: ITensor, dim: int = -1) -> ITensor:
    """``a * sigmoid(b)`` where ``a, b`` are the two halves of ``x`` along ``dim`` (torch.nn.functional.glu).

    Example:
        >>> x = helper.addGLU(helper.addConv1d(self.pointwise_conv1, x), dim=1)
    """
    helper.check_float(x)
    dim = helper.dim(x, dim)
    size = helper.shape(x)[dim]
    if size == -1 or size % 2:
        raise ValueError(f"{helper.where()}: dim {dim} of {helper.shape(x)} must be static and even")
    a, b = addChunk(helper, x, 2, dim, name="halves")
    return addMul(helper, a, addSigmoid(helper, b, name="gate"))


leaf(nn.ReLU, lambda helper, module, x: addReLU(helper, x))
leaf(nn.SiLU, lambda helper, module, x: addSiLU(helper, x))
leaf(nn.Sigmoid, lambda helper, module, x: addSigmoid(helper, x))
leaf(nn.Tanh, lambda helper, module, x: addTanh(helper, x))
leaf(nn.GELU, lambda helper, module, x: addGELU(helper, x, module.approximate))
leaf(nn.GLU, lambda helper, module, x: addGLU(helper, x, module.dim))
leaf(nn.Dropout, lambda helper, module, x: x)
leaf(nn.Dropout1d, lambda helper, module, x: x)
leaf(nn.Dropout2d, lambda helper, module, x: x)
leaf(nn.AlphaDropout, lambda helper, module, x: x)
leaf(nn.Identity, lambda helper, module, x: x)
