"""torch.nn.PixelShuffle, PixelUnshuffle and ChannelShuffle: unflatten, permute, flatten (batch and spatial sizes
may be dynamic)."""

from __future__ import annotations

from torch import nn

from ..core import ITensor, NetworkHelper, leaf, op
from .permute import addPermute
from .reshape import addFlatten, addUnflatten


@op
def addPixelShuffle(helper: NetworkHelper, x: ITensor, upscale_factor: int) -> ITensor:
    """``torch.nn.functional.pixel_shuffle(x, r)``: (B, C·r², H, W) → (B, C, H·r, W·r).

    Example:
        >>> image = helper.addPixelShuffle(features, 2)
    """
    helper.check_rank(x, (4,))
    r = int(upscale_factor)
    channels = helper.shape(x)[1]
    if channels == -1 or channels % (r * r):
        raise ValueError(
            f"{helper.where()}: upscale_factor={r} needs a static channel count divisible by {r * r}, "
            f"got input shape {helper.shape(x)}"
        )
    blocks = addUnflatten(helper, x, 1, (channels // (r * r), r, r), name="blocks")  # (B, C, r, r, H, W)
    moved = addPermute(helper, blocks, (0, 1, 4, 2, 5, 3))  # (B, C, H, r, W, r)
    return addFlatten(helper, addFlatten(helper, moved, 4, 5, name="width"), 2, 3, name="height")


@op
def addPixelUnshuffle(helper: NetworkHelper, x: ITensor, downscale_factor: int) -> ITensor:
    """``torch.nn.functional.pixel_unshuffle(x, r)``: (B, C, H·r, W·r) → (B, C·r², H, W).

    Example:
        >>> features = helper.addPixelUnshuffle(image, 2)
    """
    helper.check_rank(x, (4,))
    r = int(downscale_factor)
    for d in (2, 3):
        if helper.shape(x)[d] not in (-1,) and helper.shape(x)[d] % r:
            raise ValueError(
                f"{helper.where()}: dim {d} of {helper.shape(x)} is not a multiple of downscale_factor={r}"
            )
    rows = addUnflatten(helper, addUnflatten(helper, x, 3, (-1, r), name="width"), 2, (-1, r), name="height")
    moved = addPermute(helper, rows, (0, 1, 3, 5, 2, 4))  # (B, C, r, r, H, W)
    return addFlatten(helper, moved, 1, 3)


@op
def addChannelShuffle(helper: NetworkHelper, x: ITensor, groups: int) -> ITensor:
    """``torch.nn.functional.channel_shuffle(x, groups)`` on x (B, C, …): (B, g, C/g, …) → (B, C/g, g, …) → (B, C, …).

    Example:
        >>> x = helper.addChannelShuffle(x, 4)
    """
    helper.check_rank(x, range(3, 9))
    channels = helper.shape(x)[1]
    if channels == -1 or channels % groups:
        raise ValueError(
            f"{helper.where()}: groups={groups} needs a static channel count divisible by it, got "
            f"input shape {helper.shape(x)}"
        )
    grouped = addUnflatten(helper, x, 1, (groups, channels // groups), name="groups")
    perm = list(range(len(x.shape) + 1))
    perm[1], perm[2] = 2, 1
    return addFlatten(helper, addPermute(helper, grouped, perm), 1, 2)


leaf(nn.PixelShuffle, lambda helper, module, x: addPixelShuffle(helper, x, module.upscale_factor))
leaf(nn.PixelUnshuffle, lambda helper, module, x: addPixelUnshuffle(helper, x, module.downscale_factor))
leaf(nn.ChannelShuffle, lambda helper, module, x: addChannelShuffle(helper, x, module.groups))
