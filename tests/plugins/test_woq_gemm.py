"""WeightOnlyGemm on the CPU: the quantizer and packed layout of trt_helper.quant.woq_layout against plain unpacked
references, and the plugin's configure-time shape checks (T2, through the harness)."""

from __future__ import annotations

import pytest
import torch

import trt_helper
from trt_helper import rel_error
from trt_helper.backend import BackendUnavailable, get_backend
from trt_helper.plugins import WeightOnlyGemm
from trt_helper.quant import quantize_weight, woq_layout


def fragment_owner(row: int, col: int) -> tuple[int, int, int]:
    """(lane, 32-bit word = sub-tile, element a0..a7) of mma.m16n8k16's A operand holding (row, col) of a 16×64 tile.
    PTX ISA fragment layout: lane = 4·gid + tig; a0/a1 row gid, fragment columns 2tig/+1; a2/a3 row gid+8; a4..a7 the
    same at fragment column + 8. The layout permutes K inside a tile: lane tig holds tile columns 16·tig … 16·tig + 15,
    sub-tile s columns 4s … 4s + 3 of them, in the order (2tig, 2tig+1, 2tig+8, 2tig+9)."""
    tig, rest = divmod(col, 16)
    sub, j = divmod(rest, 4)
    gid, hi_row = row % 8, row // 8
    return 4 * gid + tig, sub, (j & 1) + 2 * hi_row + 4 * (j >> 1)


@pytest.mark.parametrize("bits", [4, 8])
def test_layout_puts_each_weight_in_its_mma_fragment(bits):
    """Every element of a tile sits where the kernel's lane reads it, decoded the way the kernel decodes it."""
    gen = torch.Generator().manual_seed(1)
    q = torch.randint(-(1 << (bits - 1)), 1 << (bits - 1), (16, 64), dtype=torch.int8, generator=gen)
    raw = woq_layout.pack(q, bits).reshape(-1).view(torch.uint8)
    words = raw.view(torch.int32).tolist()  # little-endian 32-bit words, as a lane's 16-byte load sees them
    nibble_of = [0, 4, 1, 5, 2, 6, 3, 7]  # element a_e sits in nibble nibble_of[e] (order a0 a2 a4 a6 a1 a3 a5 a7)
    for row in range(16):
        for col in range(64):
            lane, sub, elem = fragment_owner(row, col)
            if bits == 4:
                word = words[lane * 4 + sub] & 0xFFFFFFFF
                value = ((word >> (4 * nibble_of[elem])) & 0xF) - 8
            else:
                half, word_in = divmod(2 * sub + elem // 4, 4)
                word = words[half * 128 + lane * 4 + word_in] & 0xFFFFFFFF
                value = ((word >> (8 * (elem % 4))) & 0xFF) - 128
            assert value == int(q[row, col]), (row, col)


def test_emulated_mma_over_a_packed_tile_is_the_product():
    """The kernel's view of one int4 tile, emulated: each lane's four words decoded as the PTX ISA's m16n8k16 A
    fragments (no permutation), its B fragments read as the kernel does (token gid, two 16-byte loads of tile columns
    16·tig … 16·tig + 15: b0 of sub-tile s = columns 4s, 4s+1 of them, b1 = 4s+2, 4s+3); the four sub-tile products
    must sum to q · xᵀ."""
    gen = torch.Generator().manual_seed(2)
    q = torch.randint(-8, 8, (16, 64), dtype=torch.int8, generator=gen)
    x = torch.randint(-4, 5, (8, 64), generator=gen).double()  # 8 tokens, exact in float64
    words = woq_layout.pack(q, 4).reshape(-1).view(torch.uint8).view(torch.int32).tolist()
    nibble_of = [0, 4, 1, 5, 2, 6, 3, 7]
    d = torch.zeros(16, 8, dtype=torch.float64)
    for sub in range(4):
        a = torch.zeros(16, 16, dtype=torch.float64)
        b = torch.zeros(16, 8, dtype=torch.float64)
        for lane in range(32):
            gid, tig = divmod(lane, 4)
            word = words[lane * 4 + sub] & 0xFFFFFFFF
            for e in range(8):  # a_e: row gid (+8 for e = 2, 3, 6, 7), column 2tig + (e & 1) (+8 for e >= 4)
                a[gid + 8 * ((e >> 1) & 1), 2 * tig + (e & 1) + 8 * (e >> 2)] = ((word >> (4 * nibble_of[e])) & 0xF) - 8
            cols = [16 * tig + 4 * sub + j for j in range(4)]
            b[[2 * tig, 2 * tig + 1, 2 * tig + 8, 2 * tig + 9], gid] = x[gid, cols]
        d += a @ b
    assert torch.equal(d, q.double() @ x.t())


def byte_perm(x: int, y: int, selector: int) -> int:
    """CUDA's __byte_perm: byte i of the result is byte (selector >> 4i) & 7 of the eight bytes of (y, x)."""
    pool = [(x >> (8 * i)) & 0xFF for i in range(4)] + [(y >> (8 * i)) & 0xFF for i in range(4)]
    return sum(pool[(selector >> (4 * i)) & 7] << (8 * i) for i in range(4))


def quad_transpose(m: list[list[int]]) -> list[list[int]]:
    """woqWgmmaSm90.cu's transposeQuad on a warp, step by step: lane L holds m[L][d] (the word lane d of its quad needs
    from it) and ends with the words from lanes 0…3 of the quad, after two butterfly exchanges (lane ^ 2, lane ^ 1)."""
    m = [list(words) for words in m]
    for bit, pairs in [(2, [(0, 2), (1, 3)]), (1, [(0, 1), (2, 3)])]:
        # each lane sends, per pair (j, j'), the word whose destination has this bit unlike its own; keeps the other
        sent = [[w[j] if lane & bit else w[jj] for j, jj in pairs] for lane, w in enumerate(m)]
        for lane, w in enumerate(m):
            got = sent[lane ^ bit]
            for (j, jj), v in zip(pairs, got, strict=True):
                if lane & bit:
                    w[j] = v
                else:
                    w[jj] = v
    return m


@pytest.mark.parametrize("bits", [4, 8])
def test_wgmma_natural_k_reorder_emulated(bits):
    """The Hopper wgmma kernel's reordering of a packed tile into natural K order (woqWgmmaSm90.cu: int4ToNaturalK's
    byte permutes, int8ToNaturalK's words, one quad transpose per word), emulated on a random packed tile: each lane's
    registers, decoded as dequantInt4 / dequantInt8 read them, must be the PTX ISA's A fragments of the tile's 16×16
    sub-tiles in natural column order (register r: row gid + 8·(r & 1), columns 2·tig + 8·(r >> 1) and + 1)."""
    gen = torch.Generator().manual_seed(3)
    q = torch.randint(-(1 << (bits - 1)), 1 << (bits - 1), (16, 64), dtype=torch.int8, generator=gen)
    words = [w & 0xFFFFFFFF for w in woq_layout.pack(q, bits).reshape(-1).view(torch.uint8).view(torch.int32).tolist()]
    lane_words = [[words[half * 128 + 4 * lane : half * 128 + 4 * lane + 4] for lane in range(32)] for half in (0, 1)]
    if bits == 4:
        first = quad_transpose(
            [
                [byte_perm(w[0], w[2], 0x6240), byte_perm(w[0], w[2], 0x7351)]
                + [byte_perm(w[1], w[3], 0x6240), byte_perm(w[1], w[3], 0x7351)]
                for w in lane_words[0]
            ]
        )
    else:
        first, second = quad_transpose(lane_words[0]), quad_transpose(lane_words[1])
    for lane in range(32):
        gid, tig = divmod(lane, 4)
        for sub in range(4):
            for r in range(4):
                if bits == 4:  # dequantInt4: register r = nibbles at bits 4r and 16 + 4r
                    w = first[lane][sub]
                    pair = [((w >> (4 * r)) & 0xF) - 8, ((w >> (16 + 4 * r)) & 0xF) - 8]
                else:  # dequantInt8(w0, w1): registers 0, 1 = bytes (0, 1), (2, 3) of w0; 2, 3 of w1
                    w = (first if r < 2 else second)[lane][sub]
                    pair = [((w >> (16 * (r & 1) + 8 * e)) & 0xFF) - 128 for e in range(2)]
                cols = [16 * sub + 2 * tig + 8 * (r >> 1) + e for e in range(2)]
                assert pair == q[gid + 8 * (r & 1), cols].tolist(), (lane, sub, r)


def fragment_u8(w: list[int], q: int, bits: int) -> list[int]:
    """woqTile.cuh's fragmentU8: a lane's u8 A registers of k32 step q from its 4 (int4) or 8 (int8) words."""
    if bits == 4:
        first, second = w[2 * q], w[2 * q + 1]
        return [first & 0x0F0F0F0F, first & 0xF0F0F0F0, second & 0x0F0F0F0F, second & 0xF0F0F0F0]
    v = w[4 * q : 4 * q + 4]
    return [byte_perm(v[0], v[1], 0x5140), byte_perm(v[0], v[1], 0x7362)] + [
        byte_perm(v[2], v[3], 0x5140),
        byte_perm(v[2], v[3], 0x7362),
    ]


def convert_x(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """woqBulkSm90.cu's convertX on one chunk (all columns of x): per token q = rint(x · 32767 / max|x|) in float32,
    the scales, and each (tile, token, lane c, sub-tile s) word of the high / low bytes, bytes from the columns
    16c + 4s + {0, 2, 1, 3} of the tile."""
    amax = x.abs().amax(dim=1, keepdim=True)
    q = torch.round(x * (32767.0 / amax)).to(torch.int64)  # round half to even, as __float2int_rn
    words = {}
    for tile in range(x.shape[1] // 64):
        for n in range(x.shape[0]):
            for c in range(4):
                for s in range(4):
                    cols = [64 * tile + 16 * c + 4 * s + j for j in (0, 2, 1, 3)]
                    vals = [int(q[n, col]) for col in cols]
                    words[tile, n, c, s] = tuple(
                        sum(((v >> shift) & 0xFF) << (8 * i) for i, v in enumerate(vals)) for shift in (8, 0)
                    )
    return q, (amax / 32767.0).squeeze(1), words


@pytest.mark.parametrize("bits", [4, 8])
def test_integer_path_emulated(bits):
    """The bulk-copy kernel's integer path (M <= 8, x in shared memory) on a chunk of two packed tiles, emulated: the
    packed words as fragmentU8 reads them and x's bytes as convertX stores them, multiplied as the PTX ISA's
    mma.m16n8k32 A (row gid + 8·(r & 1), k 16·(r >> 1) + 4·tig + byte) and B (k 16·h + 4·tig + byte, column gid)
    fragments: high · 256 + low − offset · Σq must be exactly q · x_qᵀ (16× in the int4 rows 8-15), and with the scales
    the product within x's 16-bit rounding of the float64 one."""
    gen = torch.Generator().manual_seed(4)
    qw = torch.randint(-(1 << (bits - 1)), 1 << (bits - 1), (16, 128), dtype=torch.int8, generator=gen)
    x = torch.randn(8, 128, generator=gen) * torch.tensor([1.0, 30.0, 1e-3, 1.0, 5.0, 1.0, 1.0, 0.1])[:, None]
    raw = woq_layout.pack(qw, bits).reshape(-1).view(torch.uint8).view(torch.int32).tolist()
    raw = [w & 0xFFFFFFFF for w in raw]
    tile_words = len(raw) // 2
    xq, x_scale, x_words = convert_x(x)
    high = torch.zeros(16, 8, dtype=torch.int64)
    low = torch.zeros(16, 8, dtype=torch.int64)
    for tile in range(2):
        words = raw[tile * tile_words : (tile + 1) * tile_words]
        for q in range(2):
            a = torch.zeros(16, 32, dtype=torch.int64)
            b = {part: torch.zeros(32, 8, dtype=torch.int64) for part in (0, 1)}
            for lane in range(32):
                gid, tig = divmod(lane, 4)
                if bits == 4:
                    w = words[4 * lane : 4 * lane + 4]
                else:
                    w = words[4 * lane : 4 * lane + 4] + words[128 + 4 * lane : 128 + 4 * lane + 4]
                for r, reg in enumerate(fragment_u8(w, q, bits)):
                    for i in range(4):
                        a[gid + 8 * (r & 1), 16 * (r >> 1) + 4 * tig + i] = (reg >> (8 * i)) & 0xFF
                for h in range(2):
                    for part in (0, 1):  # 0: high bytes (signed), 1: low bytes (unsigned)
                        word = x_words[tile, gid, tig, 2 * q + h][part]
                        for i in range(4):
                            byte = (word >> (8 * i)) & 0xFF
                            b[part][16 * h + 4 * tig + i, gid] = byte - 256 if part == 0 and byte >= 128 else byte
            high += a @ b[0]
            low += a @ b[1]
    offset = torch.tensor([8 if bits == 4 else 128] * 8 + [128] * 8)[:, None]
    v = high * 256 + low - offset * xq.sum(dim=1)[None, :]
    row_factor = torch.tensor([1] * 8 + [16 if bits == 4 else 1] * 8)[:, None]
    assert torch.equal(v, row_factor * (qw.to(torch.int64) @ xq.t()))
    y = v.double() / row_factor * x_scale.double()[None, :]
    want = qw.double() @ x.double().t()
    bound = qw.abs().double().sum(dim=1, keepdim=True) * x_scale.double()[None, :] / 2
    assert ((y - want).abs() <= bound + 1e-9).all()


@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("shape", [(40, 208), (16, 64), (300, 1024)])
def test_pack_unpack_round_trip_and_padding(bits, shape):
    n, k = shape
    q = torch.randint(-(1 << (bits - 1)), 1 << (bits - 1), shape, dtype=torch.int8)
    packed = woq_layout.pack(q, bits)
    n_pad, k_pad = -(-n // 16) * 16, -(-k // 64) * 64
    assert packed.dtype == torch.int8 and tuple(packed.shape) == (n_pad, k_pad * bits // 8)
    assert torch.equal(woq_layout.unpack(packed, bits, n, k), q)
    padded = torch.zeros(n_pad, k_pad, dtype=torch.int8)
    padded[:n, :k] = q
    assert torch.equal(woq_layout.unpack(packed, bits, n_pad, k_pad), padded)  # padding holds q = 0


@pytest.mark.parametrize("bits,group", [(4, 128), (4, 64), (4, 0), (8, 0), (8, 128)])
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_quantize_matches_a_plain_reference(bits, group, dtype):
    n, k = 48, 256
    w = torch.randn(n, k)  # float32, the dtype quantize computes in (a float64 reference differs at .5 ties)
    q, scales = woq_layout.quantize(w, bits, group, dtype)
    qmax = (1 << (bits - 1)) - 1
    g = group or k
    assert scales.dtype == dtype and tuple(scales.shape) == ((n,) if group == 0 else (k // group, n))
    for row in range(n):
        for j in range(k // g):
            block = w[row, j * g : (j + 1) * g]
            s = (block.abs().max() / qmax).to(dtype)
            assert (scales[row] if group == 0 else scales[j, row]) == s
            want = torch.clamp(torch.round(block / s.float()), -qmax - 1, qmax)
            assert torch.equal(q[row, j * g : (j + 1) * g].float(), want)
    w_hat = WeightOnlyGemm.dequantize(q, scales, group)
    assert torch.equal(woq_layout.dequantize(q, scales, group).double(), w_hat)
    assert rel_error(w_hat, w, "l2") < (0.15 if bits == 4 else 0.01)


def test_layout_errors():
    with pytest.raises(ValueError, match="bits must be 4 or 8"):
        woq_layout.quantize(torch.randn(16, 64), 3, 0)
    with pytest.raises(ValueError, match="group_size must be"):
        woq_layout.quantize(torch.randn(16, 128), 4, 100)
    with pytest.raises(ValueError, match="not a multiple of group_size"):
        woq_layout.quantize(torch.randn(16, 96), 4, 64)
    with pytest.raises(ValueError, match="within"):
        woq_layout.pack(torch.full((16, 64), 8, dtype=torch.int8), 4)


@pytest.mark.headers
def test_configure_rejects_mismatched_shapes(harness, library_path):
    # a fresh Library routes the plugin log to the harness again (a TensorRT registry may have installed its own)
    lib = harness.Library(str(library_path))
    cases = [  # (fields, inputs, output, words in the reason)
        (
            {"bits": 4, "group_size": 128},
            [((4, 192), "float16"), ((48, 96), "int8"), ((1, 40), "float16")],
            ((4, 40), "float16"),
            "not a multiple of group_size 128",
        ),
        (
            {"bits": 4, "group_size": 0},
            [((4, 200), "float16"), ((48, 128), "int8"), ((40,), "float16")],
            ((4, 40), "float16"),
            "multiple of 16",
        ),
        (
            {"bits": 8, "group_size": 0},
            [((4, 256), "float16"), ((48, 128), "int8"), ((40,), "float16")],
            ((4, 40), "float16"),
            "must be (48, 256)",
        ),
        (
            {"bits": 4, "group_size": 64},
            [((4, 256), "float16"), ((48, 128), "int8"), ((40,), "float16")],
            ((4, 40), "float16"),
            "(K / group_size, N)",
        ),
        (
            {"bits": 4, "group_size": 64, "has_bias": 1},
            [((4, 256), "float16"), ((48, 128), "int8"), ((4, 40), "float16"), ((41,), "float16")],
            ((4, 40), "float16"),
            "bias must hold N = 40",
        ),
    ]
    for fields, inputs, output, reason in cases:
        plugin = lib.create("WeightOnlyGemm", fields)
        harness.take_log()
        assert plugin.configure(inputs, [output]) != 0, reason
        assert any(reason in m and "WeightOnlyGemm" in m for _, m in harness.take_log()), reason
    ok = lib.create("WeightOnlyGemm", {"bits": 8, "group_size": 0, "has_bias": 1})
    assert (
        ok.configure(
            [((2, 3, 208), "bfloat16"), ((48, 256), "int8"), ((40,), "bfloat16"), ((40,), "bfloat16")],
            [((2, 3, 40), "bfloat16")],
        )
        == 0
    )


# ------------------------------------------------------------------------------------ addLinear(impl="plugin")
@pytest.mark.parametrize("bits,group", [(4, 128), (4, None), (8, None), (8, 64)])
def test_plugin_tensors_hold_the_quantized_weight(bits, group):
    """What addLinear hands the plugin (packed values, scales in its (K/g, N) order) dequantizes to exactly the
    quantized weight the native form uses."""
    qw = quantize_weight(torch.randn(40, 256), bits, group)
    packed, scales = WeightOnlyGemm.plugin_tensors(qw)
    q = woq_layout.unpack(packed, bits, 40, 256)
    assert torch.equal(q, qw.values)
    assert torch.equal(WeightOnlyGemm.dequantize(q, scales, group or 0).float(), qw.dequantize())


def test_plugin_takes_only_weights_it_can_run():
    qw = quantize_weight(torch.randn(40, 256), 4, 128)
    assert WeightOnlyGemm.unsupported(qw, torch.float16) is None
    assert "fp16/bf16" in WeightOnlyGemm.unsupported(qw, torch.float32)
    assert "g64 or g128" in WeightOnlyGemm.unsupported(quantize_weight(torch.randn(40, 256), 4, 32), torch.float16)


def test_add_linear_plugin_path_on_a_backend_without_plugin_layers():
    """impl="plugin" fails clearly where plugin layers cannot be added; impl="auto" builds the dequantize form."""
    try:
        get_backend()
    except BackendUnavailable as error:  # e.g. the GPU machine that runs this file for the T3 tests beside it
        pytest.skip(f"no TensorRT backend: {error}")
    helper = trt_helper.NetworkHelper(torch.float16, name="woq")
    if helper.backend.can_add_plugin_layers:
        pytest.skip("this backend can add plugin layers")
    linear = torch.nn.Linear(256, 40)
    x = helper.addInput("x", torch.float16, (3, 256))
    with pytest.raises(RuntimeError, match="impl='plugin' needs a backend with plugin layers"):
        helper.addLinear(linear, x, weights="int4", group_size=128, impl="plugin")
    helper.addLinear(linear, x, weights="int4", group_size=128, impl="auto")
    kinds = {helper.network.get_layer(i).type.name for i in range(helper.network.num_layers)}
    assert "DEQUANTIZE" in kinds and not any(kind.startswith("PLUGIN") for kind in kinds), kinds
