"""Clamping to a range."""

from __future__ import annotations

from ..core import ITensor, NetworkHelper, op
from .activations import activation
from .binary import addMaximum, addMinimum


@op
def addClamp(helper: NetworkHelper, x: ITensor, min: float | None = None, max: float | None = None) -> ITensor:
    """``torch.clamp(x, min, max)``; either bound may be None. One clip layer for floats with both bounds.

    Example:
        >>> y = helper.addClamp(x, min=-1.0, max=1.0)
    """
    if min is None and max is None:
        raise ValueError(f"{helper.where()}: give min, max or both")
    helper.check_tensor(x)
    if min is not None and max is not None and helper.torch_dtype(x).is_floating_point:
        return activation(helper, x, "CLIP", alpha=float(min), beta=float(max))
    out = x
    if min is not None:
        out = addMaximum(helper, out, min)
    if max is not None:
        out = addMinimum(helper, out, max)
    return out
