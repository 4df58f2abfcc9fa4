"""Round-to-nearest weight quantization: int8 / int4, per output channel or block-wise along K, symmetric or
asymmetric (blocks).

A linear's weight ``W`` (N, K) becomes integers ``q`` (N, K) and positive scales with ``W ≈ q · scale``:
- ``group_size=None``: one scale per output channel, ``scales`` (N,) — TensorRT's per-axis DQ on axis 0;
- ``group_size=G``: one scale per G consecutive input features, ``scales`` (N, K/G) — TensorRT's block DQ,
  implied by a scale of the weight's rank with axis 1 (K).
``scale = max|W| / qmax`` over the channel or block (qmax 127 for int8, 7 for int4; floor 1e-8 so an all-zero
block keeps a positive scale), ``q = clamp(round_half_even(W / scale), -qmax, qmax)``. Asymmetric blocks
(``asymmetric=True``) use all 2^bits levels between the block's min and max: ``scale = (max - min) / (2·qmax + 1)``,
``offset = min + (qmax + 1)·scale``, ``q = clamp(round_half_even((W - offset) / scale), -qmax - 1, qmax)``. An optional
``input_scale`` (K,) from the activation-aware search (:mod:`.awq`) means ``W ≈ q · scale / input_scale``: the
linear multiplies its input by ``1 / input_scale`` first. Optional block ``offsets`` (N, K/G) make a block
asymmetric, ``W = q · scale + offset`` (llama.cpp's Q4_1 maps here exactly): TensorRT's dequantize takes no
non-zero zero point, so the linear adds ``blocksum_G(x) · offsetsᵀ`` to its output.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

BITS = {8: 127, 4: 7}
GROUP_SIZES = (None, 32, 64, 128)
MIN_SCALE = 1e-8


@dataclass
class QuantizedWeight:
    """An (N, K) weight as integers and scales.

    Attributes:
        values: int8 tensor (N, K) holding values in [-qmax, qmax], [-qmax - 1, qmax] with offsets (int4 values
            too: see :func:`pack_int4`).
        scales: float32 (N,) per channel or (N, K/group_size) per block, all > 0.
        bits: 8 or 4.
        group_size: None (per channel) or the block length along K.
        input_scale: None, or float32 (K,): the activation-aware factor folded into the weight.
        act_scale: None (weight-only), or the static per-tensor int8 scale of the linear's input (W8A8,
            SmoothQuant): the input is quantized to int8 and dequantized before the matmul.
        offsets: None, or float32 (N, K/group_size): a per-block term added to every weight of the block.
    """

    values: torch.Tensor
    scales: torch.Tensor
    bits: int
    group_size: int | None
    input_scale: torch.Tensor | None = None
    act_scale: float | None = None
    offsets: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.offsets is not None and (
            self.group_size is None or tuple(self.offsets.shape) != tuple(self.scales.shape)
        ):
            raise ValueError(
                f"QuantizedWeight {tuple(self.values.shape)}: offsets {tuple(self.offsets.shape)} need block scales "
                f"of the same shape, got scales {tuple(self.scales.shape)} with group_size={self.group_size}"
            )

    @property
    def layout(self) -> str:
        """``"per-channel"`` or ``"block-<G>"`` (scales along K)."""
        return "per-channel" if self.group_size is None else f"block-{self.group_size}"

    def expanded_scales(self) -> torch.Tensor:
        """The scales repeated to the weight's (N, K) shape."""
        return self._per_weight(self.scales)

    def _per_weight(self, values: torch.Tensor) -> torch.Tensor:
        if self.group_size is None:
            return values[:, None].expand_as(self.values)
        return values.repeat_interleave(self.group_size, 1)

    def dequantize(self) -> torch.Tensor:
        """``values · scale`` (+ the block offsets; divided by ``input_scale`` column-wise when set), float32 (N, K)."""
        weight = self.values.float() * self.expanded_scales()
        if self.offsets is not None:
            weight = weight + self._per_weight(self.offsets)
        return weight if self.input_scale is None else weight / self.input_scale

    def nbytes(self) -> int:
        """Bytes of the packed integers plus fp16 scales (what a plan stores for this weight)."""
        offsets = 0 if self.offsets is None else self.offsets.numel() * 2
        return self.values.numel() * self.bits // 8 + self.scales.numel() * 2 + offsets


def check_spec(bits: int, group_size: int | None, shape: tuple[int, ...], where: str) -> None:
    """``bits`` and ``group_size`` are supported and the group divides K, else a ValueError naming ``where``."""
    if bits not in BITS:
        raise ValueError(f"{where}: bits={bits!r} is not supported (8 or 4) for weight {tuple(shape)}")
    if group_size not in GROUP_SIZES:
        raise ValueError(
            f"{where}: group_size={group_size!r} is not supported ({list(GROUP_SIZES)}) for weight {tuple(shape)}"
        )
    if group_size is not None and shape[-1] % group_size:
        raise ValueError(f"{where}: K={shape[-1]} of weight {tuple(shape)} is not divisible by group_size={group_size}")


def block_grid(blocks: torch.Tensor, bits: int, asymmetric: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(scales, offsets or None) of the round-to-nearest grid of each block, ``blocks`` (..., g) → (...): see the
    module docstring."""
    qmax = BITS[bits]
    if not asymmetric:
        return (blocks.abs().amax(-1) / qmax).clamp(min=MIN_SCALE), None
    low = blocks.amin(-1)
    scales = ((blocks.amax(-1) - low) / (2 * qmax + 1)).clamp(min=MIN_SCALE)
    return scales, low + (qmax + 1) * scales


def round_to_grid(w: torch.Tensor, scales: torch.Tensor, offsets: torch.Tensor | None, bits: int) -> torch.Tensor:
    """Integers (float dtype) of ``w`` on the grid ``values · scales (+ offsets)`` (broadcast to ``w``)."""
    qmax = BITS[bits]
    if offsets is None:
        return torch.round(w / scales).clamp(-qmax, qmax)
    return torch.round((w - offsets) / scales).clamp(-qmax - 1, qmax)


def quantize_weight(
    w: torch.Tensor,
    bits: int = 8,
    group_size: int | None = None,
    where: str = "quantize_weight",
    asymmetric: bool = False,
) -> QuantizedWeight:
    """Quantize an (N, K) weight round-to-nearest (ties to even), symmetric or (blocks only) asymmetric with block
    offsets — see the module docstring.

    Example:
        >>> qw = quantize_weight(linear.weight, bits=4, group_size=128)
        >>> err = (qw.dequantize() - linear.weight).abs().max()
    """
    if w.dim() != 2:
        raise ValueError(f"{where}: expected an (N, K) weight, got shape {tuple(w.shape)}")
    check_spec(bits, group_size, tuple(w.shape), where)
    if asymmetric and group_size is None:
        raise ValueError(f"{where}: asymmetric weights need a group_size (block offsets), weight {tuple(w.shape)}")
    w = w.detach().float().cpu()
    if not torch.isfinite(w).all():
        bad = (~torch.isfinite(w)).nonzero()[0].tolist()
        raise ValueError(f"{where}: weight {tuple(w.shape)} has a non-finite value at {bad}")
    blocks = w[:, None, :] if group_size is None else w.unflatten(1, (-1, group_size))
    scales, offsets = block_grid(blocks, bits, asymmetric)
    expand = lambda t: t.repeat_interleave(blocks.shape[2], 1)  # (N, K/G) → (N, K)
    values = round_to_grid(w, expand(scales), None if offsets is None else expand(offsets), bits)
    return QuantizedWeight(
        values.to(torch.int8), scales[:, 0] if group_size is None else scales, bits, group_size, offsets=offsets
    )


def table_bits(bits: int) -> int:
    """Bits of a tied token table (embedding lookup and logits head) in a network whose linears get ``bits``:
    never fewer than 8. An int4 table wrecks greedy decoding (Whisper tiny.en int4 g128 with an int4 g128 table:
    WER 40.9 % instead of 6.39 %); llama.cpp's Q4 files keep their embedding at Q8_0 or better for the same reason."""
    return max(bits, 8)


def pack_int4(values: torch.Tensor) -> torch.Tensor:
    """int4 values (int8 carrier, -8…7) → uint8 bytes the way TensorRT's INT4 weights (and ONNX INT4) store them:
    the flattened row-major tensor two elements per byte, the first in the low nibble, the second in the high
    nibble; an odd count pads the last high nibble with 0. ``trt.Weights(trt.int4, ptr, count)`` takes the
    logical element count."""
    flat = values.reshape(-1).to(torch.int16) & 0xF
    if flat.numel() % 2:
        flat = torch.cat([flat, flat.new_zeros(1)])
    return (flat[0::2] | (flat[1::2] << 4)).to(torch.uint8)


def unpack_int4(packed: torch.Tensor, count: int) -> torch.Tensor:
    """The inverse of :func:`pack_int4`: ``count`` int4 values (int8 carrier, sign-extended)."""
    nibbles = torch.stack([packed & 0xF, packed >> 4], 1).reshape(-1)[:count].to(torch.int8)
    return torch.where(nibbles > 7, nibbles - 16, nibbles)
