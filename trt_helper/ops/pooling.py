"""torch.nn.MaxPool1d/2d and AvgPool1d/2d: one pooling layer (1-D runs as 2-D over (B, C, 1, T))."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from ..core import ITensor, NetworkHelper, leaf, op
from .squeeze import addSqueeze, addUnsqueeze

Pool = nn.MaxPool1d | nn.MaxPool2d | nn.AvgPool1d | nn.AvgPool2d


def _pairs(value: int | Sequence[int], spatial: int) -> tuple[int, ...]:
    return (int(value),) * spatial if isinstance(value, int) else tuple(int(v) for v in value)


def pooling(
    helper: NetworkHelper,
    x: ITensor,
    kind: str,
    window: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[int],
    ceil_mode: bool,
    count_include_pad: bool = True,
) -> ITensor:
    """One IPoolingLayer (``kind`` a ``trt.PoolingType`` name) over the trailing ``len(window)`` dims, with torch's
    padding and ``ceil_mode`` (a last window must start inside the input or its leading padding)."""
    if any(2 * p > k for p, k in zip(padding, window)):
        raise ValueError(
            f"{helper.where()}: padding {tuple(padding)} must be at most half of kernel_size {tuple(window)}"
        )
    layer = helper.network.add_pooling_nd(x, getattr(helper.trt.PoolingType, kind), tuple(window))
    if layer is not None:
        layer.stride_nd = tuple(stride)
        layer.pre_padding = layer.post_padding = tuple(padding)
        if ceil_mode:
            layer.padding_mode = helper.trt.PaddingMode.EXPLICIT_ROUND_UP
        if kind == "AVERAGE":
            layer.average_count_excludes_padding = not count_include_pad
    return helper.finish(layer, x).get_output(0)


def _pool(helper: NetworkHelper, module: Pool, x: ITensor, spatial: int, kind: str) -> ITensor:
    helper.check_rank(x, (spatial + 2,))
    helper.check_float(x)
    name = type(module).__name__
    if isinstance(module, (nn.MaxPool1d, nn.MaxPool2d)):
        if module.return_indices:
            raise ValueError(f"{helper.where()}: {name}(return_indices=True) is not supported")
        if any(d != 1 for d in _pairs(module.dilation, spatial)):
            raise ValueError(f"{helper.where()}: {name}(dilation={module.dilation}) is not supported (1 only)")
        include_pad = True
    else:
        if getattr(module, "divisor_override", None) is not None:
            raise ValueError(f"{helper.where()}: {name}(divisor_override={module.divisor_override}) is not supported")
        include_pad = module.count_include_pad
    window = _pairs(module.kernel_size, spatial)
    stride = _pairs(module.stride if module.stride else module.kernel_size, spatial)
    padding = _pairs(module.padding, spatial)
    if spatial == 2:
        return pooling(helper, x, kind, window, stride, padding, module.ceil_mode, include_pad)
    x4 = addUnsqueeze(helper, x, 2, name="as_2d")
    y4 = pooling(helper, x4, kind, (1,) + window, (1,) + stride, (0,) + padding, module.ceil_mode, include_pad)
    return addSqueeze(helper, y4, 2)


@op(module=nn.MaxPool1d)
def addMaxPool1d(helper: NetworkHelper, module: nn.MaxPool1d, x: ITensor) -> ITensor:
    """``module(x)`` for ``torch.nn.MaxPool1d`` on x (B, C, T) (padding, stride, ceil_mode; no dilation).

    Example:
        >>> x = helper.addMaxPool1d(self.pool, x)
    """
    return _pool(helper, module, x, 1, "MAX")


@op(module=nn.MaxPool2d)
def addMaxPool2d(helper: NetworkHelper, module: nn.MaxPool2d, x: ITensor) -> ITensor:
    """``module(x)`` for ``torch.nn.MaxPool2d`` on x (B, C, H, W) (padding, stride, ceil_mode; no dilation).

    Example:
        >>> x = helper.addMaxPool2d(self.maxpool, x)
    """
    return _pool(helper, module, x, 2, "MAX")


@op(module=nn.AvgPool1d)
def addAvgPool1d(helper: NetworkHelper, module: nn.AvgPool1d, x: ITensor) -> ITensor:
    """``module(x)`` for ``torch.nn.AvgPool1d`` on x (B, C, T) (padding, count_include_pad, ceil_mode).

    Example:
        >>> x = helper.addAvgPool1d(self.pool, x)
    """
    return _pool(helper, module, x, 1, "AVERAGE")


@op(module=nn.AvgPool2d)
def addAvgPool2d(helper: NetworkHelper, module: nn.AvgPool2d, x: ITensor) -> ITensor:
    """``module(x)`` for ``torch.nn.AvgPool2d`` on x (B, C, H, W) (padding, count_include_pad, ceil_mode).

    Example:
        >>> x = helper.addAvgPool2d(self.pool, x)
    """
    return _pool(helper, module, x, 2, "AVERAGE")


leaf(nn.MaxPool1d, addMaxPool1d)
leaf(nn.MaxPool2d, addMaxPool2d)
leaf(nn.AvgPool1d, addAvgPool1d)
leaf(nn.AvgPool2d, addAvgPool2d)
