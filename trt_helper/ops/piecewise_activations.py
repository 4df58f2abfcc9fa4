"""Piecewise activations: ReLU6, Hardtanh, (R)LeakyReLU, PReLU, ELU, SELU, CELU, Threshold, Hardshrink, Softshrink."""

from __future__ import annotations

from torch import nn

from ..core import ITensor, NetworkHelper, leaf, op
from .activations import activation
from .binary import addGreater, addMul, addSub
from .clamp import addClamp
from .constant import addConstant
from .unary import addAbs
from .where import addWhere

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


@op
def addReLU6(helper: NetworkHelper, x: ITensor) -> ITensor:
    """``torch.nn.functional.relu6(x)`` = ``clamp(x, 0, 6)``.

    Example:
        >>> h = helper.addReLU6(helper.addConv2d(self.expand, x))
    """
    return activation(helper, x, "CLIP", alpha=0.0, beta=6.0)


@op
def addHardtanh(helper: NetworkHelper, x: ITensor, min_val: float = -1.0, max_val: float = 1.0) -> ITensor:
    """``torch.nn.functional.hardtanh(x, min_val, max_val)``.

    Example:
        >>> y = helper.addHardtanh(x, -2.0, 2.0)
    """
    if min_val > max_val:
        raise ValueError(f"{helper.where()}: min_val {min_val} > max_val {max_val}")
    return activation(helper, x, "CLIP", alpha=float(min_val), beta=float(max_val))


@op
def addLeakyReLU(helper: NetworkHelper, x: ITensor, negative_slope: float = 0.01) -> ITensor:
    """``torch.nn.functional.leaky_relu(x, negative_slope)``.

    Example:
        >>> y = helper.addLeakyReLU(x, 0.2)
    """
    return activation(helper, x, "LEAKY_RELU", alpha=float(negative_slope), beta=0.0)


@op(module=nn.PReLU)
def addPReLU(helper: NetworkHelper, module: nn.PReLU, x: ITensor) -> ITensor:
    """``module(x)`` for ``torch.nn.PReLU`` (one slope, or one per channel in dim 1).

    Example:
        >>> y = helper.addPReLU(self.act, x)
    """
    helper.check_float(x)
    count = module.weight.numel()
    rank = len(x.shape)
    if count > 1 and (rank < 2 or helper.shape(x)[1] not in (count, -1)):
        raise ValueError(
            f"{helper.where()}: PReLU(num_parameters={count}) needs {count} channels in dim 1, got "
            f"input shape {helper.shape(x)}"
        )
    shape = (1,) * rank if count == 1 else (1, count) + (1,) * (rank - 2)
    slope = addConstant(helper, module.weight.reshape(shape), dtype=helper.torch_dtype(x), name="weight")
    return helper.finish(helper.network.add_parametric_relu(x, slope), x, slope).get_output(0)


@op
def addELU(helper: NetworkHelper, x: ITensor, alpha: float = 1.0) -> ITensor:
    """``torch.nn.functional.elu(x, alpha)``.

    Example:
        >>> y = helper.addELU(x, 1.0)
    """
    return activation(helper, x, "ELU", alpha=float(alpha), beta=0.0)


@op
def addSELU(helper: NetworkHelper, x: ITensor) -> ITensor:
    """``torch.nn.functional.selu(x)``.

    Example:
        >>> y = helper.addSELU(x)
    """
    return activation(helper, x, "SELU", alpha=SELU_ALPHA, beta=SELU_SCALE)


@op
def addCELU(helper: NetworkHelper, x: ITensor, alpha: float = 1.0) -> ITensor:
    """``torch.nn.functional.celu(x, alpha)`` = ``alpha * elu(x / alpha)``.

    Example:
        >>> y = helper.addCELU(x, 0.5)
    """
    if alpha == 0:
        raise ValueError(f"{helper.where()}: alpha must be non-zero")
    if alpha == 1:
        return activation(helper, x, "ELU", alpha=1.0, beta=0.0)
    scaled = addMul(helper, x, 1.0 / alpha, name="scale_in")
    return addMul(helper, activation(helper, scaled, "ELU", alpha=1.0, beta=0.0), float(alpha), name="scale_out")


@op
def addThreshold(helper: NetworkHelper, x: ITensor, threshold: float, value: float) -> ITensor:
    """``torch.nn.functional.threshold(x, threshold, value)``: ``x`` where ``x > threshold``, else ``value``.

    Example:
        >>> y = helper.addThreshold(x, 0.1, 20.0)
    """
    helper.check_float(x)
    return addWhere(helper, addGreater(helper, x, float(threshold)), x, float(value))


@op
def addHardshrink(helper: NetworkHelper, x: ITensor, lambd: float = 0.5) -> ITensor:
    """``torch.nn.functional.hardshrink(x, lambd)``: ``x`` where ``|x| > lambd``, else 0.

    Example:
        >>> y = helper.addHardshrink(x, 0.5)
    """
    helper.check_float(x)
    return addWhere(helper, addGreater(helper, addAbs(helper, x), float(lambd)), x, 0.0)


@op
def addSoftshrink(helper: NetworkHelper, x: ITensor, lambd: float = 0.5) -> ITensor:
    """``torch.nn.functional.softshrink(x, lambd)`` = ``x - clamp(x, -lambd, lambd)``.

    Example:
        >>> y = helper.addSoftshrink(x, 0.5)
    """
    if lambd < 0:
        raise ValueError(f"{helper.where()}: lambd must be >= 0, got {lambd}")
    return addSub(helper, x, addClamp(helper, x, -float(lambd), float(lambd)))


def _rrelu(helper: NetworkHelper, module: nn.RReLU, x: ITensor) -> ITensor:
    if module.training:
        raise ValueError(
            f"helper(module) at '{helper.current_path()}': RReLU in training mode samples random slopes; "
            f"call module.eval() (the slope is then (lower + upper) / 2)"
        )
    return addLeakyReLU(helper, x, (module.lower + module.upper) / 2)


leaf(nn.ReLU6, lambda helper, module, x: addReLU6(helper, x))
leaf(nn.Hardtanh, lambda helper, module, x: addHardtanh(helper, x, module.min_val, module.max_val))
leaf(nn.LeakyReLU, lambda helper, module, x: addLeakyReLU(helper, x, module.negative_slope))
leaf(nn.RReLU, _rrelu)
leaf(nn.PReLU, addPReLU)
leaf(nn.ELU, lambda helper, module, x: addELU(helper, x, module.alpha))
leaf(nn.SELU, lambda helper, module, x: addSELU(helper, x))
leaf(nn.CELU, lambda helper, module, x: addCELU(helper, x, module.alpha))
leaf(nn.Threshold, lambda helper, module, x: addThreshold(helper, x, module.threshold, module.value))
leaf(nn.Hardshrink, lambda helper, module, x: addHardshrink(helper, x, module.lambd))
leaf(nn.Softshrink, lambda helper, module, x: addSoftshrink(helper, x, module.lambd))
