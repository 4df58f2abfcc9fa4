"""WeightOnlyGemm benchmark (issue 16), run from bench_plugins.py --woq-out: the plugin against fp16 cuBLAS, torch
tinygemm int4 (bf16 activations, g128), torch _weight_int8pack_mm and the floor (packed weights + scales / the read
bandwidth of a plain read-only kernel over 1 GiB, measured in the same run), at M = 1, 4, 16, 64, 256 on the LLaMA-7B
and Whisper-large shapes.

Timing, the same for every candidate: (1) `*_ms`: each call queued behind a ~100 us spin kernel and timed between two
CUDA events (GPU time of one call, host launch overhead excluded; an empty kernel reads ~2.8 us this way); (2)
`*_graph_ms`: 20 calls captured in one CUDA graph and replayed back to back, per call (as a graph-captured network
runs its layers; an empty kernel reads ~0.7 us). Weights rotated over enough copies to exceed 256 MB (past the L2);
medians of --iters; every copy has its own scales.

A plain read of each row's weight + scale bytes, timed beside fp16 cuBLAS and the kernel, is in woq_variants.cu
(`ceiling`): what no kernel reading the weights once can beat on the GPU."""

from __future__ import annotations

import math
import statistics

import torch
import torch.nn.functional as F

from trt_helper.plugins import bound_tensor, tensor_spec
from trt_helper.quant import woq_layout

SHAPES = [(4096, 12288), (4096, 11008), (11008, 4096), (4096, 4096), (1280, 5120), (5120, 1280)]  # (K, N)
MS = [1, 4, 16, 64, 256]
CONFIGS = [(4, 128), (8, 0), (4, 64)]  # (bits, group_size)


def parse_shapes(text: str) -> list[tuple[int, int]]:
    """`K x N` pairs separated by commas (e.g. "1280x5120,5120x1280") as (K, N) tuples; ValueError naming the bad one."""
    shapes = []
    for item in text.split(","):
        parts = item.strip().lower().split("x")
        if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
            raise ValueError(f"--woq-shapes: {item.strip()!r} is not K x N with positive integers (e.g. 1280x5120)")
        shapes.append((int(parts[0]), int(parts[1])))
    return shapes


def gpu_time(fn, sets, iters, warmup=5):
    """Median ms of fn(*sets[i % len(sets)]), each call queued behind a spin kernel (GPU time only)."""
    for i in range(warmup):
        fn(*sets[i % len(sets)])
    torch.cuda.synchronize()
    times = []
    for i in range(iters):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda._sleep(200_000)
        start.record()
        fn(*sets[(i + warmup) % len(sets)])
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def graph_time(fn, sets, iters, reps=20):
    """Median ms per call of reps calls fn(*sets[i % len(sets)]) captured in one CUDA graph and replayed."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for i in range(3):
            fn(*sets[i % len(sets)])
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for i in range(reps):
            fn(*sets[i % len(sets)])
    graph.replay()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        graph.replay()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / reps)
    return statistics.median(times)


def read_bandwidth(iters):
    """GB/s of torch.sum over 1 GiB of fp32 (a plain read-only reduction; 4 bytes written)."""
    data = [torch.rand(1 << 28, device="cuda") for _ in range(2)]
    out = torch.empty((), device="cuda")
    ms = gpu_time(lambda d: torch.sum(d, dim=0, out=out), [(d,) for d in data], iters)
    return (1 << 30) / ms / 1e6


def launch_floor(iters):
    """ms between the two events around a one-element add: the part of every measured time that is not the kernel's
    work (kernel start and end, event resolution)."""
    t = torch.zeros(1, device="cuda")
    return gpu_time(lambda: torch.add(t, 1, out=t), [()], iters)


def copies_for(nbytes):
    return max(4, min(64, math.ceil(256e6 / nbytes)))


def try_time(name, fn, sets, iters, errors, timer=gpu_time):
    try:
        return timer(fn, sets, iters)
    except (RuntimeError, NotImplementedError) as error:  # a torch op missing on this build / GPU
        errors.setdefault(name, str(error).splitlines()[0])
        return None


def bench_woq(lib, iters, shapes=SHAPES):
    errors = {}
    read_gbs = read_bandwidth(iters)
    empty_ms = launch_floor(iters)
    t = torch.zeros(1, device="cuda")
    empty_graph_ms = graph_time(lambda: torch.add(t, 1, out=t), [()], iters)
    print(
        f"read-only kernel over 1 GiB: {read_gbs:.0f} GB/s; one-element kernel {1e3 * empty_ms:.1f} us queued, "
        f"{1e3 * empty_graph_ms:.2f} us in a graph",
        flush=True,
    )
    rows = []
    for k, n in shapes:
        w = torch.randn(n, k, device="cuda") * k**-0.5
        w16 = w.half()
        fp16_sets = [w16.clone() for _ in range(copies_for(w16.numel() * 2))]
        int4_sets = int8_sets = None
        for bits, group in CONFIGS:
            q, scales = woq_layout.quantize(w, bits, group, torch.float16)
            packed = woq_layout.pack(q, bits)
            nbytes = packed.numel() + scales.numel() * 2
            plugin_w = [(packed.clone(), scales.clone()) for _ in range(copies_for(nbytes))]
            if bits == 4 and group == 128 and int4_sets is None:
                int4_sets = tinygemm_weights(q, scales, copies_for(nbytes), errors)
            if bits == 8 and int8_sets is None:
                int8_sets = [(q.clone(), scales.clone()) for _ in range(copies_for(q.numel()))]
            for m in MS:
                x = torch.randn(m, k, device="cuda", dtype=torch.float16)
                y = torch.empty(m, n, device="cuda", dtype=torch.float16)
                call = plugin_call(lib, bits, group, x, plugin_w[0], y)
                row = {
                    "shape": f"{k}x{n}",
                    "M": m,
                    "bits": bits,
                    "group_size": group,
                    "plugin_ms": gpu_time(lambda p, s: call(x, p, s, y), plugin_w, iters),
                    "weight_bytes": nbytes,
                    "floor_ms": nbytes / read_gbs / 1e6,
                }
                row["plugin_graph_ms"] = graph_time(lambda p, s: call(x, p, s, y), plugin_w, iters)
                row["achieved_GBps"] = nbytes / row["plugin_ms"] / 1e6
                if m <= 16 and bits == 4 and group == 128:  # the same weights every call: read from L2 after the first
                    row["plugin_l2_resident_ms"] = gpu_time(lambda p, s: call(x, p, s, y), plugin_w[:1], iters)
                fp16_args = [(t,) for t in fp16_sets]
                row["cublas_fp16_ms"] = gpu_time(lambda wt: F.linear(x, wt), fp16_args, iters)
                row["cublas_fp16_graph_ms"] = graph_time(lambda wt: F.linear(x, wt), fp16_args, iters)
                if bits == 4 and group == 128 and int4_sets:
                    xb = x.bfloat16()
                    tinygemm = lambda p, sz: torch._weight_int4pack_mm(xb, p, 128, sz)
                    row["torch_int4_ms"] = try_time("tinygemm", tinygemm, int4_sets, iters, errors)
                    row["torch_int4_graph_ms"] = try_time("tinygemm", tinygemm, int4_sets, iters, errors, graph_time)
                if bits == 8:
                    row["torch_int8pack_ms"] = try_time(
                        "int8pack", lambda wq, s: torch._weight_int8pack_mm(x, wq, s), int8_sets, iters, errors
                    )
                row["fraction_of_floor"] = row["floor_ms"] / row["plugin_ms"]
                row["speedup_vs_cublas_fp16"] = row["cublas_fp16_ms"] / row["plugin_ms"]
                row["graph_fraction_of_floor"] = row["floor_ms"] / row["plugin_graph_ms"]
                row["graph_speedup_vs_cublas_fp16"] = row["cublas_fp16_graph_ms"] / row["plugin_graph_ms"]
                if row.get("torch_int4_ms"):
                    row["speedup_vs_torch_int4"] = row["torch_int4_ms"] / row["plugin_ms"]
                if row.get("torch_int4_graph_ms"):
                    row["graph_speedup_vs_torch_int4"] = row["torch_int4_graph_ms"] / row["plugin_graph_ms"]
                rows.append(row)
                print(
                    f"{row['shape']:>11s} M={m:<4d} W{bits} g{group:<3d} plugin {1e3 * row['plugin_ms']:8.1f} us  "
                    f"floor {1e3 * row['floor_ms']:6.1f} us ({100 * row['fraction_of_floor']:3.0f}%)  cuBLAS fp16 "
                    f"{1e3 * row['cublas_fp16_ms']:7.1f} us ({row['speedup_vs_cublas_fp16']:.2f}x) | graph: plugin "
                    f"{1e3 * row['plugin_graph_ms']:.1f} us ({100 * row['graph_fraction_of_floor']:3.0f}%), cuBLAS "
                    f"{1e3 * row['cublas_fp16_graph_ms']:.1f} us ({row['graph_speedup_vs_cublas_fp16']:.2f}x)  "
                    + "  ".join(
                        f"{key[:-3]} {1e3 * row[key]:.1f} us"
                        for key in ("plugin_l2_resident_ms", "torch_int4_ms", "torch_int8pack_ms")
                        if row.get(key)
                    ),
                    flush=True,
                )
            del plugin_w
        del fp16_sets, int4_sets, int8_sets
        torch.cuda.empty_cache()
    return {
        "read_GBps": read_gbs,
        "one_element_kernel_ms": empty_ms,
        "one_element_kernel_graph_ms": empty_graph_ms,
        "rows": rows,
        "errors": errors,
        "timing": "*_ms: GPU time per call (queued behind a spin kernel), CUDA events, median; *_graph_ms: 20 calls "
        "replayed back to back from one CUDA graph, per call, median; weights and scales rotated over "
        ">= 256 MB of copies (plugin_l2_resident_ms: one copy, so it is read from L2); tinygemm with bf16 activations; "
        "one_element_kernel_ms: the same timing of a one-element add",
    }


def tinygemm_weights(q, scales, copies, errors):
    """torch's int4 tinygemm operands for the same q and scales (unsigned q + 8, zero point 8·s, bf16)."""
    try:
        n, k = q.shape
        u = (q.to(torch.int32) + 8).to(torch.uint8)
        packed_u8 = (u[:, 0::2] << 4 | u[:, 1::2]).contiguous()
        packed = torch._convert_weight_to_int4pack(packed_u8, 8)
        s = scales.bfloat16()
        sz = torch.stack([s, torch.zeros_like(s)], dim=-1).contiguous()  # tinygemm: (u - 8) · s + zero, zero = 0
        return [(packed.clone(), sz.clone()) for _ in range(copies)]
    except (RuntimeError, NotImplementedError, AttributeError) as error:
        errors.setdefault("tinygemm", str(error).splitlines()[0])
        return None


def plugin_call(lib, bits, group, x, weights, y):
    plugin = lib.create("WeightOnlyGemm", {"bits": bits, "group_size": group}, "build", "bench_woq")
    ins = [tensor_spec(t) for t in (x, weights[0], weights[1])]
    outs = [tensor_spec(y)]
    assert plugin.configure(ins, outs) == 0 and plugin.on_shape_change(ins, outs) == 0

    def call(x, packed, scales, y):  # on the current stream: the capturing one inside torch.cuda.graph
        stream = torch.cuda.current_stream().cuda_stream
        status = plugin.enqueue([bound_tensor(t) for t in (x, packed, scales)], [bound_tensor(y)], 0, stream)
        if status != 0:
            raise RuntimeError(f"WeightOnlyGemm enqueue returned {status}")

    return call
