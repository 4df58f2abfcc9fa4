"""Elementwise, unary, activation, parametric ReLU, select and scale layers."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..registry import evaluator
from .common import f32, weights_tensor

_ELEMENTWISE = {
    "SUM": torch.add,
    "SUB": torch.sub,
    "PROD": torch.mul,
    "MAX": torch.maximum,
    "MIN": torch.minimum,
    "POW": torch.pow,
    "EQUAL": torch.eq,
    "GREATER": torch.gt,
    "LESS": torch.lt,
    "AND": torch.logical_and,
    "OR": torch.logical_or,
    "XOR": torch.logical_xor,
    "FLOOR_DIV": lambda a, b: torch.div(a, b, rounding_mode="floor"),
}


@evaluator("ELEMENTWISE")
def elementwise(layer, inputs, trt, device):
    a, b = (f32(t) for t in inputs)
    name = layer.op.name
    if name == "DIV":
        return [torch.div(a, b) if a.is_floating_point() else torch.div(a, b, rounding_mode="trunc")]
    return [_ELEMENTWISE[name](a, b)]


_UNARY = {
    "EXP": torch.exp,
    "LOG": torch.log,
    "SQRT": torch.sqrt,
    "RECIP": torch.reciprocal,
    "ABS": torch.abs,
    "NEG": torch.neg,
    "SIN": torch.sin,
    "COS": torch.cos,
    "TAN": torch.tan,
    "SINH": torch.sinh,
    "COSH": torch.cosh,
    "ASIN": torch.asin,
    "ACOS": torch.acos,
    "ATAN": torch.atan,
    "ASINH": torch.asinh,
    "ACOSH": torch.acosh,
    "ATANH": torch.atanh,
    "CEIL": torch.ceil,
    "FLOOR": torch.floor,
    "ERF": torch.erf,
    "NOT": torch.logical_not,
    "SIGN": torch.sign,
    "ROUND": torch.round,
    "ISINF": torch.isinf,
    "ISNAN": torch.isnan,
}


@evaluator("UNARY")
def unary(layer, inputs, trt, device):
    return [_UNARY[layer.op.name](f32(inputs[0]))]


@evaluator("ACTIVATION")
def activation(layer, inputs, trt, device):
    x, a, b = f32(inputs[0]), layer.alpha, layer.beta
    functions = {
        "RELU": F.relu,
        "SIGMOID": torch.sigmoid,
        "TANH": torch.tanh,
        "LEAKY_RELU": lambda t: F.leaky_relu(t, a),
        "ELU": lambda t: torch.where(t >= 0, t, a * (torch.exp(t) - 1)),
        "SELU": lambda t: b * torch.where(t >= 0, t, a * (torch.exp(t) - 1)),
        "SOFTSIGN": lambda t: t / (1 + t.abs()),
        "SOFTPLUS": lambda t: a * torch.log1p(torch.exp(b * t)),
        "CLIP": lambda t: t.clamp(a, b),
        "HARD_SIGMOID": lambda t: (a * t + b).clamp(0, 1),
        "SCALED_TANH": lambda t: a * torch.tanh(b * t),
        "THRESHOLDED_RELU": lambda t: torch.where(t > a, t, 0.0),
        "GELU_ERF": lambda t: F.gelu(t),
        "GELU_TANH": lambda t: F.gelu(t, approximate="tanh"),
    }
    return [functions[layer.type.name](x)]  # once downcast, IActivationLayer.type is the activation kind


@evaluator("PARAMETRIC_RELU")
def parametric_relu(layer, inputs, trt, device):
    x, slope = f32(inputs[0]), f32(inputs[1])
    return [torch.where(x >= 0, x, x * slope)]


@evaluator("SELECT")
def select(layer, inputs, trt, device):
    condition, a, b = inputs
    return [torch.where(condition, a, b)]


@evaluator("SCALE")
def scale(layer, inputs, trt, device):
    x = f32(inputs[0])
    mode = layer.mode.name
    axis = layer.channel_axis
    shape = [1] * x.dim()
    if mode == "CHANNEL":
        shape[axis] = -1
    elif mode == "ELEMENTWISE":
        shape = [1] * axis + list(x.shape[axis:])

    def part(weights, default):
        array = np.asarray(weights)
        return f32(weights_tensor(array, device)).reshape(shape) if array.size else torch.tensor(default)

    return [torch.pow(x * part(layer.scale, 1.0) + part(layer.shift, 0.0), part(layer.power, 1.0))]
