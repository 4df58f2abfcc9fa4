"""T3 (GPU): WeightOnlyGemm through the harness against dequantize-then-matmul in fp32
(trt_helper.plugins.WeightOnlyGemm.reference), for int4 / int8, per-channel and grouped scales, fp16 / bf16,
M = 1…4096 (odd M too), the benchmark shapes and small odd ones; outputs poisoned first;
‖out − ref‖/‖ref‖ ≤ 1e-2. Weights are quantized and packed on the GPU by trt_helper.quant.woq_layout; the reference uses
the unpacked q and scales."""

from __future__ import annotations

import pytest
import torch

from trt_helper.plugins import WeightOnlyGemm, harness_enqueue
from trt_helper.quant import woq_layout

from .test_plugin_enqueue_gpu import check, poisoned, randn

pytestmark = pytest.mark.gpu

DTYPES = [torch.float16, torch.bfloat16]
SMALL_M = [1, 2, 3, 5, 8, 9, 15, 16, 17, 31, 33, 64, 100, 257]


def weights(n, k, bits, group, dtype, device, gen, bias=False):
    """Random (N, K) weights drawn on the GPU (seeded from gen), quantized and packed there."""
    cuda_gen = torch.Generator(device=device)
    cuda_gen.manual_seed(int(torch.randint(0, 2**31, (1,), generator=gen)))
    w = torch.randn((n, k), device=device, generator=cuda_gen) * k**-0.5
    q, scales = woq_layout.quantize(w, bits, group, dtype)
    b = randn((n,), dtype, device, gen, 0.5) if bias else None
    return q, woq_layout.pack(q, bits), scales, b


def run_gemm(lib, x, packed, scales, bias, bits, group):
    n = scales.shape[-1]
    fields = {"bits": bits, "group_size": group, "has_bias": int(bias is not None)}
    plugin = lib.create("WeightOnlyGemm", fields, "build", "test_woq")
    assert plugin is not None
    y = poisoned(x.shape[:-1] + (n,), x.dtype, x.device)
    inputs = [x, packed, scales] + ([bias] if bias is not None else [])
    assert harness_enqueue(plugin, inputs, [y]) == 0
    torch.cuda.synchronize()
    return y


def check_gemm(lib, x, q, packed, scales, bias, bits, group, what):
    y = run_gemm(lib, x, packed, scales, bias, bits, group)
    check(y, WeightOnlyGemm.reference(x, q, scales, group, bias), x.dtype, what)


@pytest.mark.parametrize("dtype", DTYPES, ids=["fp16", "bf16"])
@pytest.mark.parametrize("bits", [4, 8])
# (8192, 1088, 64): on Hopper the bulk-copy kernel with more strips than CTAs and a part-filled last stage;
# (2048, 1088, 0), (2048, 1152, 128): there, consumer warps whose last tiles lie past K, with per-channel scales (one
# partial sum over the warp's tiles of a stage) and with groups of two tiles (with int4 at M <= 8: at most one strip per
# SM, so 16 consumer warps per CTA, as for N = 1280 of the benchmark shapes);
# (12288, 128, 64): on an H100 / H200 the wgmma kernel from M = 64 (257: two token tiles); (256, 64, 0): there one K
# tile, so at M = 64 the second consumer part has none
@pytest.mark.parametrize(
    "n,k,group",
    [
        (40, 208, 0),
        (24, 384, 64),
        (56, 256, 128),
        (16, 64, 64),
        (1000, 1024, 128),
        (8192, 1088, 64),
        (2048, 1088, 0),
        (2048, 1152, 128),
        (12288, 128, 64),
        (256, 64, 0),
    ],
)
def test_small_odd_shapes_all_m(lib, cuda, gen, dtype, bits, n, k, group):
    q, packed, scales, _ = weights(n, k, bits, group, dtype, cuda, gen)
    for m in SMALL_M:
        x = randn((m, k), dtype, cuda, gen)
        check_gemm(lib, x, q, packed, scales, None, bits, group, f"M={m} N={n} K={k} bits={bits} g={group}")


BENCH_SHAPES = [(12288, 4096), (11008, 4096), (4096, 11008), (4096, 4096), (5120, 1280), (1280, 5120)]


@pytest.mark.parametrize("dtype", DTYPES, ids=["fp16", "bf16"])
@pytest.mark.parametrize("bits,group", [(4, 128), (4, 64), (8, 0)], ids=["w4g128", "w4g64", "w8"])
@pytest.mark.parametrize("n,k", BENCH_SHAPES, ids=[f"{k}to{n}" for n, k in BENCH_SHAPES])
def test_benchmark_shapes(lib, cuda, gen, dtype, bits, group, n, k):
    q, packed, scales, _ = weights(n, k, bits, group, dtype, cuda, gen)
    for m in [1, 4, 7, 16, 64, 256]:
        x = randn((m, k), dtype, cuda, gen)
        check_gemm(lib, x, q, packed, scales, None, bits, group, f"M={m} N={n} K={k} bits={bits} g={group}")


# On an H100 / H200 the bulk-copy kernel's integer path (x in shared memory as 16-bit integers, u8 weights on the integer
# tensor cores) where 2048 strips give each CTA several (the path's condition): K = 768 fits x in 12 KB up to M = 8
# (one part-filled stage per strip, consumer warps with no tile; M = 9 the register kernel); K = 2048 up to M = 3,
# then fp16 x from global memory. int4 g64 takes the fp16 path with x in shared memory on the same shapes.
@pytest.mark.parametrize("dtype", DTYPES, ids=["fp16", "bf16"])
@pytest.mark.parametrize("bits,group", [(4, 128), (4, 64), (4, 0), (8, 0), (8, 128)])
@pytest.mark.parametrize("k,ms", [(768, [1, 2, 3, 5, 8, 9]), (2048, [3, 4])], ids=["k768", "k2048"])
def test_integer_path_many_strips(lib, cuda, gen, dtype, bits, group, k, ms):
    n = 32768
    q, packed, scales, bias = weights(n, k, bits, group, dtype, cuda, gen, bias=True)
    for m in ms:
        x = randn((m, k), dtype, cuda, gen)
        check_gemm(lib, x, q, packed, scales, bias, bits, group, f"M={m} N={n} K={k} bits={bits} g={group} bias")


# On an H100 / H200 the wgmma kernel with K split over clusters of CTAs (128 features each; 64, two per SM, at M = 128):
# N = 4096 / 2048 / 1280 take 3 / 6 / 8 CTAs per cluster on an H200 at M = 64 (as many as let all clusters run at once;
# M = 128, with twice the CTAs, gets its own split); each CTA of a cluster adds up and stores its own share of the
# tokens; M = 200 leaves a part-filled token tile; M = 64 has two consumer parts per CTA taking every other K tile,
# their sums added before the cluster's.
@pytest.mark.parametrize("bits,group", [(4, 128), (8, 0)], ids=["w4g128", "w8"])
@pytest.mark.parametrize("n", [4096, 2048, 1280])
def test_k_split_over_clusters(lib, cuda, gen, bits, group, n):
    k = 512
    q, packed, scales, bias = weights(n, k, bits, group, torch.float16, cuda, gen, bias=True)
    for m in [64, 128, 200, 256]:
        x = randn((m, k), torch.float16, cuda, gen)
        check_gemm(lib, x, q, packed, scales, bias, bits, group, f"M={m} N={n} K={k} bits={bits} g={group} bias")


# Precision at decode sizes (M <= 16) with activations far from zero, where a kernel that multiplies q plus a constant
# and takes the constant's product with x out afterwards (a way to save dequantization instructions) loses bits to
# cancellation: the result must stay within a few roundings of its own output type of the fp32 reference, not merely
# within the 1e-2 of the other tests.
@pytest.mark.parametrize("dtype", DTYPES, ids=["fp16", "bf16"])
@pytest.mark.parametrize("bits,group", [(4, 128), (4, 64), (4, 0), (8, 0)], ids=["w4g128", "w4g64", "w4g0", "w8"])
def test_decode_activations_far_from_zero(lib, cuda, gen, dtype, bits, group):
    n, k = 4096, 4096
    q, packed, scales, _ = weights(n, k, bits, group, dtype, cuda, gen)
    for m in [1, 8, 9, 16]:
        x = (randn((m, k), torch.float32, cuda, gen) + 30.0).to(dtype)
        y = run_gemm(lib, x, packed, scales, None, bits, group)
        want = WeightOnlyGemm.reference(x, q, scales, group, None).float()
        err = ((y.float() - want).norm() / want.norm()).item()
        rounding = ((want.to(dtype).float() - want).norm() / want.norm()).item()  # the output's own rounding
        assert err <= 4 * rounding + 1e-5, (
            f"M={m} bits={bits} g={group}: relative error {err:.3g}, rounding {rounding:.3g}"
        )


@pytest.mark.parametrize("bits,group", [(4, 128), (8, 0)], ids=["w4g128", "w8"])
def test_large_m_batched_and_bias(lib, cuda, gen, bits, group):
    n, k = 4096, 4096
    q, packed, scales, bias = weights(n, k, bits, group, torch.float16, cuda, gen, bias=True)
    for shape in [(4096, k), (3, 333, k), (2, 1, k)]:
        x = randn(shape, torch.float16, cuda, gen)
        check_gemm(lib, x, q, packed, scales, bias, bits, group, f"x {shape} bits={bits} g={group} bias")


@pytest.mark.parametrize("m,n", [(5, 4096), (64, 12288)])  # on Hopper: the bulk-copy and the wgmma kernel
def test_capturable_in_cuda_graph(lib, cuda, gen, m, n):
    """The enqueue has no host synchronisation or allocation: captured once, replayed on new inputs."""
    k = 11008 // 16 * 16
    q, packed, scales, bias = weights(n, k, 4, 0, torch.bfloat16, cuda, gen, bias=True)
    plugin = lib.create("WeightOnlyGemm", {"bits": 4, "group_size": 0, "has_bias": 1}, "build", "graph")
    x = randn((m, k), torch.bfloat16, cuda, gen)
    y = poisoned((m, n), torch.bfloat16, cuda)
    workspace = torch.empty(1, dtype=torch.uint8, device=cuda)
    assert harness_enqueue(plugin, [x, packed, scales, bias], [y], workspace=workspace) == 0  # configure, warm up
    graph = torch.cuda.CUDAGraph()
    stream = torch.cuda.Stream()
    with torch.cuda.graph(graph, stream=stream):
        status = harness_enqueue(plugin, [x, packed, scales, bias], [y], stream=stream, workspace=workspace)
    assert status == 0
    for _ in range(3):
        x.copy_(randn((m, k), torch.bfloat16, cuda, gen))
        y.fill_(float("nan"))
        graph.replay()
        torch.cuda.synchronize()
        check(y, WeightOnlyGemm.reference(x, q, scales, 0, bias), torch.bfloat16, "graph replay")


@pytest.mark.parametrize("m", [1, 16, 64])  # on Hopper: the bulk-copy, the register and the wgmma kernel
def test_chained_layers_back_to_back(lib, cuda, gen, m):
    """Six square layers, each reading the output of the one before, two buffers in turn (so a layer also overwrites
    the input of the layer before it), enqueued back to back without synchronisation: on Hopper the bulk-copy and the
    register kernels are programmatic dependent launches, so each must wait for its predecessor before reading x or
    writing y. The result equals that of the same layers run one at a time, each of which matches the reference."""
    n = 1024
    layers = [weights(n, n, 4, 128, torch.float16, cuda, gen, bias=True) for _ in range(2)]
    x = randn((m, n), torch.float16, cuda, gen)
    one_at_a_time = x
    for i in range(6):
        q, packed, scales, bias = layers[i % 2]
        y = run_gemm(lib, one_at_a_time, packed, scales, bias, 4, 128)
        check(y, WeightOnlyGemm.reference(one_at_a_time, q, scales, 128, bias), torch.float16, f"layer {i}")
        one_at_a_time = y
    plugin = lib.create("WeightOnlyGemm", {"bits": 4, "group_size": 128, "has_bias": 1}, "build", "chain")
    buffers = [poisoned((m, n), torch.float16, cuda) for _ in range(2)]
    source = x
    for i in range(6):
        _, packed, scales, bias = layers[i % 2]
        assert harness_enqueue(plugin, [source, packed, scales, bias], [buffers[i % 2]]) == 0
        source = buffers[i % 2]
    torch.cuda.synchronize()
    assert torch.equal(source, one_at_a_time), "back to back differs from one at a time"
