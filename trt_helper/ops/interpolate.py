"""``torch.nn.functional.interpolate`` and the torch.nn upsampling modules: one resize layer."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from ..core import ITensor, NetworkHelper, leaf, op
from .shape_of import dims_of, shape_tensor

#: mode -> (rank of the input it applies to (None = any of 3, 4, 5), TensorRT interpolation mode)
MODES = {
    "nearest": (None, "NEAREST"),
    "nearest-exact": (None, "NEAREST"),
    "linear": (3, "LINEAR"),
    "bilinear": (4, "LINEAR"),
    "trilinear": (5, "LINEAR"),
    "bicubic": (4, "CUBIC"),
}


@op
def addInterpolate(
    helper: NetworkHelper,
    x: ITensor,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
) -> ITensor:
    """``torch.nn.functional.interpolate(x, size, scale_factor, mode, align_corners)`` on x (B, C, *spatial) for
    modes nearest, nearest-exact, linear, bilinear, trilinear and bicubic; batch and spatial sizes may be dynamic
    (``scale_factor`` scales the run-time size).

    Example:
        >>> up = helper.addInterpolate(features, scale_factor=2, mode="bilinear")
    """
    helper.check_rank(x, (3, 4, 5))
    helper.check_float(x)
    spatial = len(x.shape) - 2
    if mode not in MODES:
        raise ValueError(f"{helper.where()}: mode={mode!r} is not supported; expected one of {list(MODES)}")
    rank, trt_mode = MODES[mode]
    if rank is not None and len(x.shape) != rank:
        raise ValueError(f"{helper.where()}: mode={mode!r} needs a rank-{rank} input, got {helper.shape(x)}")
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{helper.where()}: give exactly one of size and scale_factor")
    if align_corners and trt_mode == "NEAREST":
        raise ValueError(f"{helper.where()}: align_corners applies to the linear and cubic modes, not {mode!r}")
    layer = helper.network.add_resize(x)
    if layer is None:
        return helper.finish(layer, x)
    if scale_factor is not None:
        scales = [float(scale_factor)] * spatial if isinstance(scale_factor, (int, float)) else list(scale_factor)
        if len(scales) != spatial:
            raise ValueError(f"{helper.where()}: scale_factor {scale_factor} needs {spatial} values")
        layer.scales = [1.0, 1.0] + [float(s) for s in scales]
    elif size is not None:
        sizes = [int(size)] * spatial if isinstance(size, int) else [int(s) for s in size]
        if len(sizes) != spatial:
            raise ValueError(f"{helper.where()}: size {size} needs {spatial} values")
        lead = dims_of(helper, x)[:2]
        if any(helper.is_tensor(d) for d in lead):
            layer.set_input(1, shape_tensor(helper, lead + sizes))
        else:
            layer.shape = tuple(lead) + tuple(sizes)
    transform = helper.trt.ResizeCoordinateTransformation
    layer.resize_mode = getattr(helper.trt.InterpolationMode, trt_mode)
    if mode == "nearest":
        layer.coordinate_transformation = transform.ASYMMETRIC
        layer.nearest_rounding = helper.trt.ResizeRoundMode.FLOOR
    elif mode == "nearest-exact":
        layer.coordinate_transformation = transform.HALF_PIXEL
        layer.nearest_rounding = helper.trt.ResizeRoundMode.HALF_UP
    else:
        layer.coordinate_transformation = transform.ALIGN_CORNERS if align_corners else transform.HALF_PIXEL
        if trt_mode == "CUBIC":
            layer.cubic_coeff = -0.75
    layer.selector_for_single_pixel = helper.trt.ResizeSelector.FORMULA
    return helper.finish(layer, x).get_output(0)


def _upsample(helper: NetworkHelper, module: nn.Upsample, x: ITensor) -> ITensor:
    if module.recompute_scale_factor:
        raise ValueError(
            f"helper(module) at '{helper.current_path()}': {type(module).__name__}"
            f"(recompute_scale_factor=True) is not supported; give size, or scale_factor alone"
        )
    scale = module.scale_factor
    scale = tuple(scale) if isinstance(scale, (tuple, list)) else scale
    return addInterpolate(helper, x, module.size, scale, module.mode, module.align_corners)


leaf(nn.Upsample, _upsample)
leaf(nn.UpsamplingNearest2d, _upsample)
leaf(nn.UpsamplingBilinear2d, _upsample)
