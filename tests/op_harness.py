"""Op-test harness: build a one-op network, evaluate it with the reference executor, compare with torch.

Each op network declares its inputs with dynamic dims, is evaluated at two input sizes, and is built to a plan
with the backend (TensorRT-RTX ahead of time on CPU machines).
"""

from __future__ import annotations

import torch

import trt_helper
from trt_helper import rel_error

#: relative-error tolerances (max|got - want| / max|want|) per network precision
TOLERANCE = {torch.float32: 1e-5, torch.float16: 1e-2}


def build_op(dtype, specs, make, tmp_path=None, cast_inputs=True):
    """A network with inputs ``specs`` ({name: (torch dtype, shape with -1, min, opt, max)}) whose outputs are
    ``make(helper, *inputs)``. Floating inputs are declared fp32 and cast to ``dtype``; floating outputs are
    cast back to fp32. Builds a plan in ``tmp_path`` when given."""
    helper = trt_helper.NetworkHelper(dtype, name="op")
    tensors = []
    for name, (in_dtype, shape, lo, opt, hi) in specs.items():
        t = helper.addInput(name, in_dtype, shape, min_shape=lo, opt_shape=opt, max_shape=hi)
        tensors.append(helper.addCast(t, dtype) if in_dtype.is_floating_point and cast_inputs else t)
    outs = make(helper, *tensors)
    outs = outs if isinstance(outs, (tuple, list)) else [outs]
    for i, out in enumerate(outs):
        if helper.torch_dtype(out).is_floating_point:
            out = helper.addCast(out, torch.float32)
        helper.markOutput(out, f"out{i}")
    if tmp_path is not None:
        report = helper.build(tmp_path / "op.plan")
        assert report.plan_bytes > 0 and (tmp_path / "op.plan").stat().st_size == report.plan_bytes
    return helper


def fp16_tolerance(reference, reference_fp16, sizes):
    """The fp16 tolerance for outputs that can cancel to small values (a ReLU RNN's last state): 1e-2, or twice
    PyTorch's own fp16 error (``reference_fp16``, the same computation in half precision) on these inputs where that
    is larger: no fp16 network can be closer to the fp32 result than fp16 arithmetic allows."""
    worst = 0.0
    for inputs in sizes:
        want, want16 = reference(*inputs.values()), reference_fp16(*inputs.values())
        worst = max([worst] + [rel_error(h.float(), w) for h, w in zip(want16, want) if w.is_floating_point()])
    return max(TOLERANCE[torch.float16], 2 * worst)


def check_op(dtype, specs, make, reference, sizes, tmp_path, tol=None, cast_inputs=True):
    """Build once, evaluate at each entry of ``sizes`` (a list of {name: tensor}) and compare every output
    with ``reference(*tensors)`` (computed in fp32 from the same inputs)."""
    helper = build_op(dtype, specs, make, tmp_path, cast_inputs)
    tol = TOLERANCE[dtype] if tol is None else tol
    for inputs in sizes:
        got = helper.reference(inputs)
        want = reference(*inputs.values())
        want = want if isinstance(want, (tuple, list)) else [want]
        assert len(got) == len(want)
        for i, w in enumerate(want):
            g = got[f"out{i}"]
            assert tuple(g.shape) == tuple(w.shape), f"out{i}: shape {tuple(g.shape)} != {tuple(w.shape)}"
            if w.is_floating_point():
                err = rel_error(g, w)
                assert err <= tol, (
                    f"out{i}: rel err {err:.3e} > {tol:.0e} at input shapes {[tuple(t.shape) for t in inputs.values()]}"
                )
            else:
                assert torch.equal(g.to(w.dtype), w), f"out{i}: integer/bool output differs"
    return helper


def dyn(shape, dims, lo=1, hi=64):
    """Spec helper: fp32 input of ``shape`` with the dims in ``dims`` dynamic (range lo..hi)."""
    declared = tuple(-1 if i in dims else d for i, d in enumerate(shape))
    low = tuple(lo if i in dims else d for i, d in enumerate(shape))
    high = tuple(hi if i in dims else d for i, d in enumerate(shape))
    return declared, low, shape, high


def spec(shape, dims=(), dtype=torch.float32, lo=1, hi=64):
    declared, low, opt, high = dyn(shape, dims, lo, hi)
    return (dtype, declared, low, opt, high)


def randn(gen, *shape):
    return torch.randn(*shape, generator=gen)
