"""Activations and unary math vs torch."""

import pytest
import torch
import torch.nn.functional as F
from op_harness import check_op, randn, spec

CASES = {
    "relu": (lambda h, x: h.addReLU(x), F.relu),
    "silu": (lambda h, x: h.addSiLU(x), F.silu),
    "gelu": (lambda h, x: h.addGELU(x), F.gelu),
    "gelu_tanh": (lambda h, x: h.addGELU(x, "tanh"), lambda x: F.gelu(x, approximate="tanh")),
    "sigmoid": (lambda h, x: h.addSigmoid(x), torch.sigmoid),
    "tanh": (lambda h, x: h.addTanh(x), torch.tanh),
    "glu": (lambda h, x: h.addGLU(x, -1), lambda x: F.glu(x, -1)),
    "glu_dim1": (lambda h, x: h.addGLU(x, 1), lambda x: F.glu(x, 1)),
    "exp": (lambda h, x: h.addExp(x), torch.exp),
    "neg": (lambda h, x: h.addNeg(x), torch.neg),
    "abs": (lambda h, x: h.addAbs(x), torch.abs),
    "erf": (lambda h, x: h.addErf(x), torch.erf),
    "clamp": (lambda h, x: h.addClamp(x, -0.5, 0.7), lambda x: x.clamp(-0.5, 0.7)),
    "clamp_min": (lambda h, x: h.addClamp(x, min=0.1), lambda x: x.clamp(min=0.1)),
    "pow_scalar": (lambda h, x: h.addPow(x, 2.0), lambda x: x**2),
}
POSITIVE = {
    "sqrt": (lambda h, x: h.addSqrt(x), torch.sqrt),
    "log": (lambda h, x: h.addLog(x), torch.log),
    "pow_tensor": (lambda h, x: h.addPow(x, x), lambda x: x**x),
    "recip": (lambda h, x: h.addRecip(x), torch.reciprocal),
}


@pytest.mark.parametrize("case", list(CASES) + list(POSITIVE))
def test_pointwise(dtype, gen, tmp_path, case):
    make, reference = {**CASES, **POSITIVE}[case]

    def draw(*shape):
        x = randn(gen, *shape)
        return x.abs() + 0.1 if case in POSITIVE else x

    sizes = [{"x": draw(2, 6, 8)}, {"x": draw(5, 6, 8)}]
    check_op(dtype, {"x": spec((2, 6, 8), (0,))}, make, reference, sizes, tmp_path)
