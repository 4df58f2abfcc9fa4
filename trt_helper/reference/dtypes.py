"""TensorRT data types as torch tensors: which torch dtype carries each, and rounding a value to a type.

Types torch lacks travel in a wider carrier holding exactly the representable values: INT4 in int8 (-8…7),
FP4 (e2m1) and E8M0 (powers of two) in float32.
"""

from __future__ import annotations

import torch

_CARRIERS = {
    "FLOAT": torch.float32,
    "HALF": torch.float16,
    "BF16": torch.bfloat16,
    "INT8": torch.int8,
    "INT32": torch.int32,
    "INT64": torch.int64,
    "BOOL": torch.bool,
    "UINT8": torch.uint8,
    "FP8": torch.float8_e4m3fn,
    "INT4": torch.int8,
    "FP4": torch.float32,
    "E8M0": torch.float32,
}
_FP4_GRID = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0])


def carrier(trt_dtype) -> torch.dtype:
    """The torch dtype that holds values of ``trt_dtype``."""
    return _CARRIERS[trt_dtype.name]


def round_to(value: torch.Tensor, trt_dtype) -> torch.Tensor:
    """``value`` converted to ``trt_dtype`` (in its carrier): float → int truncates toward zero like TensorRT's
    cast, except for the quantized types INT4/FP4/FP8, which round to nearest (even) and saturate."""
    name = trt_dtype.name
    if name == "INT4":
        value = value.float().round() if value.is_floating_point() else value
        return value.clamp(-8, 7).to(torch.int8)
    if name == "FP4":
        x = value.float()
        grid = _FP4_GRID.to(x.device)
        magnitude = x.abs().clamp(max=6.0)
        # nearest grid point, ties to the even mantissa (the lower index of a tie has an even mantissa bit here)
        distance = (magnitude.unsqueeze(-1) - grid).abs()
        index = distance.argmin(-1)
        best = distance.gather(-1, index.unsqueeze(-1)).squeeze(-1)
        upper = (index + 1).clamp(max=len(grid) - 1)
        tie = ((magnitude.unsqueeze(-1) - grid).abs().gather(-1, upper.unsqueeze(-1)).squeeze(-1) == best) & (
            upper != index
        )
        index = torch.where(tie & (upper % 2 == 0), upper, index)
        return torch.where(torch.isnan(x), x, grid[index] * torch.sign(x).where(x != 0, torch.ones_like(x)))
    if name == "E8M0":
        x = value.float()
        return torch.exp2(torch.round(torch.log2(x.abs().clamp(min=2.0**-127)))).clamp(max=2.0**127)
    if name == "FP8":
        return value.float().clamp(-448.0, 448.0).to(torch.float8_e4m3fn)
    return value.to(_CARRIERS[name])
