"""Checks of ``helper(module, ...)`` against the torch modules themselves, several modules per network.

A family of modules (the activations, the pads …) goes into one network with one output per module, evaluated by
the reference executor at two input sizes; the plan is built for fp16 only (fp32 evaluates the same layers), to
keep the CI time small.
"""

from __future__ import annotations

import torch
from op_harness import check_op


def check_modules(dtype, modules, specs, sizes, tmp_path, tol=None, build=None, reference=None):
    """``helper(module, *inputs)`` for each of ``modules`` in one network vs ``module(*inputs)`` (or
    ``reference(module, *inputs)``) in fp32. ``build``: build a plan (default: for fp16 only)."""
    modules = [m.eval() for m in modules]
    build = dtype == torch.float16 if build is None else build

    def make(helper, *tensors):
        return [helper(m, *tensors) for m in modules]

    def want(*tensors):
        with torch.no_grad():
            return [reference(m, *tensors) if reference else m(*tensors) for m in modules]

    return check_op(dtype, specs, make, want, sizes, tmp_path if build else None, tol)


def dyn_spec(shape, mins, hi=64, dtype=torch.float32):
    """An input spec (as ``op_harness.spec``) whose dims in ``mins`` ({dim: min size}) are dynamic up to ``hi``."""
    declared = tuple(-1 if i in mins else d for i, d in enumerate(shape))
    low = tuple(mins.get(i, d) for i, d in enumerate(shape))
    high = tuple(hi if i in mins else d for i, d in enumerate(shape))
    return dtype, declared, low, tuple(shape), high
