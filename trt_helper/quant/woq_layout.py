"""Weight-only quantization (W4A16 / W8A16) and the packed weight layout of the WeightOnlyGemm plugin.

Everything here runs once, at quantization time, in plain torch (CPU or GPU); the plugin never repacks.

Quantization is symmetric: ``q = clamp(round(w / s), -2^(b-1), 2^(b-1) - 1)`` with ``s = amax / (2^(b-1) - 1)``
per output channel (``group_size = 0``, scales (N,)) or per group of ``group_size`` consecutive input features
(scales (K / group_size, N)); ``w ≈ q · s``. Scales are rounded to the activation dtype first and ``q`` is computed
from the rounded scale, so the dequantized matrix is exactly what the plugin multiplies by.

Packed layout (``pack``): W (N, K) is zero-padded to N_pad = ceil(N/16)·16 rows and K_pad = ceil(K/64)·64 columns and
cut into tiles of 16 rows × 64 columns, stored row-strip major ``[N_pad/16][K_pad/64]``. A tile is 512 bytes (int4)
or 1024 bytes (int8, two 512-byte halves); within each 512 bytes lane ``l`` of a warp owns bytes ``[16 l, 16 l + 16)``
(one 128-bit load) = four 32-bit words. The words hold exactly the A-operand fragments of ``mma.m16n8k16`` for the
lane (PTX ISA: lane = 4·gid + tig holds rows gid / gid+8 and fragment columns kk = 2·tig(+1) / 2·tig+8(+1) of each
16×16 sub-tile ``s``), with K permuted inside the tile: fragment column kk of sub-tile s is tile column
``16·tig + 4·s + (kk & 1) + 2·(kk ≥ 8)``. So a lane holds rows gid, gid+8 × the 16 contiguous columns
``[16 tig, 16 tig + 16)``, and the kernel feeds the same permutation of the activations with two 16-byte loads
(a dot product does not depend on the order of K):

* int4: word ``s`` = sub-tile s; its nibbles, low to high, hold fragment elements a0 a2 a4 a6 a1 a3 a5 a7 as
  ``q + 8`` (0…15), so that ``(w >> 4i) & 0x000F000F`` yields the pairs (a0,a1), (a2,a3), (a4,a5), (a6,a7) for
  i = 0…3 (the magic-number conversion of Marlin / TensorRT-LLM).
* int8: half ``h``, word ``i`` = sub-tile ``2h + i // 2``, elements a0…a3 (i even) or a4…a7 (i odd), bytes low to
  high, as ``q + 128``.

The packed tensor is int8 of shape (N_pad, K_pad / 2) for int4 and (N_pad, K_pad) for int8 (its shape is nominal; its
bytes are in tile order). The plugin takes N from the scales and K from the activations.
"""

from __future__ import annotations

import torch

TILE_N, TILE_K = 16, 64
GROUP_SIZES = (0, 64, 128)


def _check(bits: int, group_size: int, k: int) -> None:
    if bits not in (4, 8):
        raise ValueError(f"woq_layout: bits must be 4 or 8, got {bits}")
    if group_size not in GROUP_SIZES:
        raise ValueError(f"woq_layout: group_size must be 0 (per channel), 64 or 128, got {group_size}")
    if group_size and k % group_size:
        raise ValueError(f"woq_layout: K = {k} is not a multiple of group_size {group_size}")
    if k % 16:
        raise ValueError(f"woq_layout: K = {k} must be a multiple of 16")


def quantize(weight: torch.Tensor, bits: int, group_size: int, dtype: torch.dtype = torch.float16):
    """weight (N, K) float → (q int8 (N, K) in [-2^(b-1), 2^(b-1)-1], scales in ``dtype``: (N,) or (K/g, N))."""
    n, k = weight.shape
    _check(bits, group_size, k)
    qmax = (1 << (bits - 1)) - 1
    w = weight.detach().float()
    g = group_size or k
    blocks = w.reshape(n, k // g, g)
    scales = (blocks.abs().amax(dim=-1) / qmax).clamp(min=1e-5).to(dtype)  # (N, K/g), rounded like the plugin sees
    q = torch.round(blocks / scales.float()[..., None]).clamp(-qmax - 1, qmax).to(torch.int8).reshape(n, k)
    return q, (scales[:, 0].contiguous() if group_size == 0 else scales.t().contiguous())


def dequantize(q: torch.Tensor, scales: torch.Tensor, group_size: int) -> torch.Tensor:
    """q (N, K), scales (N,) or (K/g, N) → float32 (N, K) = q · s."""
    n, k = q.shape
    s = scales.float()
    if group_size == 0:
        return q.float() * s[:, None]
    return q.float() * s.t().repeat_interleave(group_size, dim=1)[:, :k]


def _tile_positions(bits: int) -> torch.Tensor:
    """For each element slot of one packed tile (nibble or byte order), its index row·64 + col in the 16×64 tile."""
    order = []
    halves = 1 if bits == 4 else 2
    for half in range(halves):
        for lane in range(32):
            gid, tig = lane // 4, lane % 4
            for word in range(4):
                sub = word if bits == 4 else 2 * half + word // 2
                elems = [0, 2, 4, 6, 1, 3, 5, 7] if bits == 4 else [4 * (word % 2) + b for b in range(4)]
                for e in elems:
                    row = gid + 8 * ((e >> 1) & 1)
                    col = 16 * tig + 4 * sub + (e & 1) + 2 * (e >> 2)  # K permuted within the tile
                    order.append(row * TILE_K + col)
    return torch.tensor(order, dtype=torch.long)


def _padded(n: int, k: int) -> tuple[int, int]:
    return -(-n // TILE_N) * TILE_N, -(-k // TILE_K) * TILE_K


def pack(q: torch.Tensor, bits: int) -> torch.Tensor:
    """q int8 (N, K) → packed int8 tensor in the plugin's layout (see the module docstring)."""
    n, k = q.shape
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if q.dtype != torch.int8 or int(q.min()) < lo or int(q.max()) > hi:
        raise ValueError(f"woq_layout.pack: q must be int8 within [{lo}, {hi}] for bits={bits}")
    n_pad, k_pad = _padded(n, k)
    u = torch.zeros(n_pad, k_pad, dtype=torch.int32, device=q.device)
    u[:n, :k] = q.to(torch.int32)
    u += 1 << (bits - 1)  # biased: 0 … 2^b - 1 (padding becomes q = 0)
    tiles = u.reshape(n_pad // TILE_N, TILE_N, k_pad // TILE_K, TILE_K).permute(0, 2, 1, 3)
    tiles = tiles.reshape(-1, TILE_N * TILE_K)[:, _tile_positions(bits).to(q.device)]
    if bits == 4:
        tiles = tiles[:, 0::2] | (tiles[:, 1::2] << 4)
    return tiles.to(torch.uint8).view(torch.int8).reshape(n_pad, k_pad * bits // 8)


def unpack(packed: torch.Tensor, bits: int, n: int, k: int) -> torch.Tensor:
    """Inverse of ``pack``: packed tensor → q int8 (N, K)."""
    n_pad, k_pad = _padded(n, k)
    if tuple(packed.shape) != (n_pad, k_pad * bits // 8) or packed.dtype != torch.int8:
        raise ValueError(
            f"woq_layout.unpack: expected int8 {(n_pad, k_pad * bits // 8)} for N={n}, K={k}, "
            f"bits={bits}, got {packed.dtype} {tuple(packed.shape)}"
        )
    b = packed.reshape(-1).view(torch.uint8).to(torch.int32).reshape(-1, TILE_N * TILE_K * bits // 8)
    if bits == 4:
        b = torch.stack([b & 0xF, b >> 4], dim=-1).reshape(b.shape[0], -1)
    tiles = torch.empty_like(b)
    tiles[:, _tile_positions(bits).to(packed.device)] = b
    u = tiles.reshape(n_pad // TILE_N, k_pad // TILE_K, TILE_N, TILE_K).permute(0, 2, 1, 3).reshape(n_pad, k_pad)
    return (u[:n, :k] - (1 << (bits - 1))).to(torch.int8)


def quantize_and_pack(weight: torch.Tensor, bits: int, group_size: int, dtype: torch.dtype = torch.float16):
    """weight (N, K) → (packed int8 weights, scales in ``dtype``): the plugin's inputs 1 and 2."""
    q, scales = quantize(weight, bits, group_size, dtype)
    return pack(q, bits), scales
