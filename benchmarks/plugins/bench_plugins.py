"""Benchmarks of the trt_helper plugins (T3) through the harness, against PyTorch eager and torch.compile, with
the device's own limits measured in the same run: device-to-device copy bandwidth (bytes read + written) and a
dense cuBLAS matmul of the same FLOPs.

Timing: CUDA events around each call, inputs rotated over several sets, warm-up first, median of --iters runs.
These are plugin kernel times on the GPU through the harness — never a TensorRT engine latency.

    python3 benchmarks/plugins/bench_plugins.py --out results.json [--iters 200] [--no-compile] [--only-fmoe]
    python3 benchmarks/plugins/bench_plugins.py --woq-out benchmarks/results/woq_gemm_h200.json   # WeightOnlyGemm only
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import sys

import torch
import torch.nn.functional as F

from trt_helper import plugins
from trt_helper.plugins import bound_tensor, tensor_spec

ROTATE = 4


def timed(fn, sets, iters, warmup=20, queued=False):
    """Median milliseconds of fn(*sets[i % len(sets)]) over iters runs, each between two CUDA events.

    By default the GPU is idle when the start event is recorded, so the figure includes the host's launch time
    (Python, the harness, the launcher). queued=True first puts a ~100 us spin kernel on the stream, so the host has
    queued the call before the start event fires: the figure is then the GPU's time alone."""
    for i in range(warmup):
        fn(*sets[i % len(sets)])
    torch.cuda.synchronize()
    times = []
    for i in range(iters):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        if queued:
            torch.cuda._sleep(200_000)
        start.record()
        fn(*sets[i % len(sets)])
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def copy_bandwidth(iters):
    n = 1 << 30
    src = [torch.empty(n, dtype=torch.uint8, device="cuda").random_(0, 255) for _ in range(2)]
    dst = torch.empty(n, dtype=torch.uint8, device="cuda")
    ms = timed(lambda s: dst.copy_(s), [(s,) for s in src], iters)
    return 2 * n / ms / 1e6  # GB/s, bytes read + written


class PluginCall:
    """A configured harness plugin bound to fixed output buffers and workspace."""

    def __init__(self, lib, name, fields, inputs, outputs):
        self.plugin = lib.create(name, fields, "build", f"bench_{name}")
        assert self.plugin is not None, name
        ins = [tensor_spec(t) for t in inputs]
        outs = [tensor_spec(t) for t in outputs]
        assert self.plugin.configure(ins, outs) == 0 and self.plugin.on_shape_change(ins, outs) == 0
        size = self.plugin.workspace_size(ins, outs)
        self.workspace = torch.empty(max(size, 1), dtype=torch.uint8, device="cuda")
        self.outputs = outputs

    def __call__(self, *inputs):
        """Enqueues on the current stream (a capturing stream inside torch.cuda.graph)."""
        status = self.plugin.enqueue(
            [bound_tensor(t) for t in inputs],
            [bound_tensor(t) for t in self.outputs],
            self.workspace.data_ptr(),
            torch.cuda.current_stream().cuda_stream,
        )
        if status != 0:
            raise RuntimeError(f"{self.plugin.name}: enqueue returned {status}")


def compiled(fn, enabled):
    if not enabled:
        return None
    try:
        return torch.compile(fn, dynamic=False)
    except Exception as error:
        print(f"torch.compile unavailable: {error}", file=sys.stderr)
        return None


def row(results, name, shape, ms, baselines, work, unit, limit):
    entry = {
        "op": name,
        "shape": shape,
        "plugin_ms": ms,
        unit: work / ms / (1e6 if unit == "GB/s" else 1e9),
        "limit": limit,
        "fraction_of_limit": work / ms / (1e6 if unit == "GB/s" else 1e9) / limit,
    }
    for key, value in baselines.items():
        if value is not None:
            entry[f"{key}_ms"] = value
            entry[f"speedup_vs_{key}"] = value / ms
    results.append(entry)
    extra = "  ".join(f"{k} {v:.4f} ms ({v / ms:.2f}x)" for k, v in baselines.items() if v is not None)
    print(
        f"{name:22s} {str(shape):28s} plugin {ms:.4f} ms  {entry[unit]:8.1f} {unit} "
        f"({100 * entry['fraction_of_limit']:.0f}% of {limit:.0f})  {extra}",
        flush=True,
    )


def bench_layer_norm(lib, results, copy_gbs, iters, use_compile):
    rows, dim = 32768, 512
    sets = [
        (
            torch.randn(rows, dim, device="cuda", dtype=torch.float16),
            torch.randn(dim, device="cuda", dtype=torch.float16),
            torch.randn(dim, device="cuda", dtype=torch.float16),
        )
        for _ in range(ROTATE)
    ]
    y = torch.empty(rows, dim, device="cuda", dtype=torch.float16)
    call = PluginCall(lib, "LayerNorm", {"eps": 1e-5}, sets[0], [y])
    ms = timed(call, sets, iters)
    eager = lambda x, g, b: F.layer_norm(x, (dim,), g, b, 1e-5)
    comp = compiled(eager, use_compile)
    base = {"torch_eager": timed(eager, sets, iters), "torch_compile": timed(comp, sets, iters) if comp else None}
    copy = lambda x, g, b: y.copy_(x)
    base["copy_same_bytes"] = timed(copy, sets, iters)
    nbytes = 2 * rows * dim * 2
    row(results, "LayerNorm fp16", [rows, dim], ms, base, nbytes, "GB/s", copy_gbs)
    # The fair copy limit: a device-to-device copy of the same bytes (32 MB read + 32 MB written), both timed the
    # same two ways: as above (host launch time included) and GPU-only (the call queued behind a spin kernel).
    gpu_ms = timed(call, sets, iters, queued=True)
    copy_gpu_ms = timed(copy, sets, iters, queued=True)
    entry = results[-1]
    entry.update(
        {
            "copy_same_bytes_GB/s": nbytes / base["copy_same_bytes"] / 1e6,
            "fraction_of_same_bytes_copy": base["copy_same_bytes"] / ms,
            "copy_same_bytes_fraction_of_1GiB_copy": nbytes / base["copy_same_bytes"] / 1e6 / copy_gbs,
            "plugin_ms_gpu_only": gpu_ms,
            "copy_same_bytes_ms_gpu_only": copy_gpu_ms,
            "GB/s_gpu_only": nbytes / gpu_ms / 1e6,
            "fraction_of_limit_gpu_only": nbytes / gpu_ms / 1e6 / copy_gbs,
            "fraction_of_same_bytes_copy_gpu_only": copy_gpu_ms / gpu_ms,
            "copy_same_bytes_fraction_of_1GiB_copy_gpu_only": nbytes / copy_gpu_ms / 1e6 / copy_gbs,
        }
    )
    print(
        f"{'':22s} same-bytes copy {base['copy_same_bytes']:.4f} ms = "
        f"{100 * entry['copy_same_bytes_fraction_of_1GiB_copy']:.0f}% of 1 GiB copy; LayerNorm = "
        f"{100 * entry['fraction_of_same_bytes_copy']:.0f}% of it",
        flush=True,
    )
    print(
        f"{'':22s} GPU-only: plugin {gpu_ms:.4f} ms ({100 * entry['fraction_of_limit_gpu_only']:.0f}% of 1 GiB copy), "
        f"same-bytes copy {copy_gpu_ms:.4f} ms ({100 * entry['copy_same_bytes_fraction_of_1GiB_copy_gpu_only']:.0f}% "
        f"of 1 GiB copy); LayerNorm = {100 * entry['fraction_of_same_bytes_copy_gpu_only']:.0f}% of same-bytes copy",
        flush=True,
    )


def bench_masked_softmax(lib, results, copy_gbs, iters, use_compile):
    b, h, t = 8, 8, 1024
    scale = 1 / 8
    sets = []
    for _ in range(ROTATE):
        lengths = torch.randint(t // 4, 3 * t // 4 + 1, (b,), dtype=torch.int32)
        sets.append((torch.randn(b, h, t, t, device="cuda", dtype=torch.float16), lengths.cuda()))
    padding = 1 - torch.stack([s[1] for s in sets]).float().mean().item() / t
    y = torch.empty(b, h, t, t, device="cuda", dtype=torch.float16)
    call = PluginCall(lib, "AttMaskedSoftmax", {"scale": scale}, sets[0], [y])
    ms = timed(call, sets, iters)

    def eager(scores, lengths):
        mask = torch.arange(t, device="cuda")[None, :] >= lengths[:, None]
        return (scores * scale).masked_fill(mask[:, None, None, :], -math.inf).softmax(-1)

    comp = compiled(eager, use_compile)
    base = {"torch_eager": timed(eager, sets, iters), "torch_compile": timed(comp, sets, iters) if comp else None}
    row(
        results,
        f"AttMaskedSoftmax fp16 ({100 * padding:.0f}% pad)",
        [b, h, t, t],
        ms,
        base,
        2 * b * h * t * t * 2,
        "GB/s",
        copy_gbs,
    )


def bench_masked_fill(lib, results, copy_gbs, iters, use_compile):
    b, c, t = 8, 512, 1024
    sets = [
        (
            torch.randn(b, c, t, device="cuda", dtype=torch.float16),
            torch.randint(t // 2, t + 1, (b,), dtype=torch.int32, device="cuda"),
        )
        for _ in range(ROTATE)
    ]
    y = torch.empty(b, c, t, device="cuda", dtype=torch.float16)
    call = PluginCall(lib, "MaskedFill", {"fill": 0.0, "layout": 0}, sets[0], [y])
    ms = timed(call, sets, iters)

    def eager(x, lengths):
        return x.masked_fill((torch.arange(t, device="cuda")[None, :] >= lengths[:, None])[:, None, :], 0.0)

    comp = compiled(eager, use_compile)
    base = {"torch_eager": timed(eager, sets, iters), "torch_compile": timed(comp, sets, iters) if comp else None}
    row(results, "MaskedFill fp16", [b, c, t], ms, base, 2 * b * c * t * 2, "GB/s", copy_gbs)


def bench_rel_pos(lib, results, copy_gbs, iters):
    b, t, d = 8, 1024, 512
    pe = torch.randn(1, 5000, d, device="cuda", dtype=torch.float16)
    sets = [(torch.randn(b, t, d, device="cuda", dtype=torch.float16), pe) for _ in range(ROTATE)]
    y = torch.empty(b, t, d, device="cuda", dtype=torch.float16)
    pos = torch.empty(1, t, d, device="cuda", dtype=torch.float16)
    call = PluginCall(lib, "RelPositionalEncoding", {"scale": math.sqrt(d)}, sets[0], [y, pos])
    ms = timed(call, sets, iters)
    eager = lambda x, p: (x * math.sqrt(d), p[:, :t].contiguous())
    row(
        results,
        "RelPositionalEncoding fp16",
        [b, t, d],
        ms,
        {"torch_eager": timed(eager, sets, iters)},
        (2 * b * t * d + 2 * t * d) * 2,
        "GB/s",
        copy_gbs,
    )


def bench_router(lib, results, copy_gbs, iters):
    b, t, e = 8, 1024, 32
    sets = [
        (
            torch.randn(b, t, e, device="cuda", dtype=torch.float16),
            torch.randint(t // 2, t + 1, (b,), dtype=torch.int32, device="cuda"),
        )
        for _ in range(ROTATE)
    ]
    value = torch.empty(b, t, 1, device="cuda", dtype=torch.float16)
    index = torch.empty(b, t, 1, device="cuda", dtype=torch.int32)
    call = PluginCall(lib, "SoftmaxTopK", {}, sets[0], [value, index])
    ms = timed(call, sets, iters)

    def eager(logits, lengths):
        v, i = logits.float().softmax(-1).max(-1, keepdim=True)
        valid = (torch.arange(t, device="cuda")[None, :] < lengths[:, None])[..., None]
        return v.masked_fill(~valid, 0), i.masked_fill(~valid, 0)

    row(
        results,
        "SoftmaxTopK fp16",
        [b, t, e],
        ms,
        {"torch_eager": timed(eager, sets, iters)},
        b * t * (e * 2 + 2 + 4),
        "GB/s",
        copy_gbs,
    )


def fastmoe_loop(x, idx, w1, b1, w2, b2):
    """FastMoE-style reference loop: sort once, slice per expert (host reads the counts), scatter back."""
    flat = x.reshape(-1, x.shape[-1])
    ids = idx.reshape(-1).long()
    order = torch.argsort(ids)
    counts = torch.bincount(ids, minlength=w1.shape[0]).tolist()
    xs = flat[order]
    out = torch.empty_like(xs)
    start = 0
    for e, n in enumerate(counts):
        if n:
            h = F.silu(F.linear(xs[start : start + n], w1[e], b1[e]))
            out[start : start + n] = F.linear(h, w2[e], b2[e])
        start += n
    y = torch.empty_like(flat)
    y[order] = out
    return y.view_as(x)


def graph_of(fn, *args):
    """fn(*args) captured in a CUDA graph after a warm-up call on a side stream."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        fn(*args)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, capture_error_mode="global"):
        fn(*args)
    return graph


def bench_fmoe(lib, results, iters, profile_dir=None):
    """E 32, D 512, fp16, uniform random routing. Plugin vs dense cuBLAS of the same FLOPs (two matmuls) and the
    FastMoE-style loop, timed both ways: with the host launch path (GPU idle at the start event) and GPU-only
    (queued behind a spin kernel); plus the plugin replayed from a CUDA graph."""
    experts, dim = 32, 512
    for hidden in (1024, 2048):
        for tokens in (2048, 8192):
            # w1 and w2 in one buffer, so that one torch.sum reads exactly their bytes (weights_read_gpu_only_ms)
            weights = torch.randn(2, experts, hidden * dim, device="cuda", dtype=torch.float16)
            weights[0] /= math.sqrt(dim)
            weights[1] /= math.sqrt(hidden)
            w1, w2 = weights[0].view(experts, hidden, dim), weights[1].view(experts, dim, hidden)
            b1 = torch.randn(experts, hidden, device="cuda", dtype=torch.float16) * 0.1
            b2 = torch.randn(experts, dim, device="cuda", dtype=torch.float16) * 0.1
            sets = [
                (
                    torch.randn(1, tokens, dim, device="cuda", dtype=torch.float16),
                    torch.randint(0, experts, (1, tokens), dtype=torch.int32, device="cuda"),
                    w1,
                    b1,
                    w2,
                    b2,
                )
                for _ in range(ROTATE)
            ]
            y = torch.empty(1, tokens, dim, device="cuda", dtype=torch.float16)
            call = PluginCall(lib, "FMoEExpert", {"num_experts": experts, "hidden": hidden, "act": 0}, sets[0], [y])
            ms = timed(call, sets, iters)
            gpu_ms = timed(call, sets, iters, queued=True)
            graph = graph_of(call, *sets[0])
            graph_ms = timed(graph.replay, [()], iters, queued=True)
            check = fastmoe_loop(*sets[0])
            call(*sets[0])
            torch.cuda.synchronize()
            err = ((y.float() - check.float()).norm() / check.float().norm()).item()
            loop_ms = timed(fastmoe_loop, sets, iters)
            flops = 2 * 2 * tokens * dim * hidden
            a = [torch.randn(tokens, dim, device="cuda", dtype=torch.float16) for _ in range(ROTATE)]
            wd1 = torch.randn(dim, hidden, device="cuda", dtype=torch.float16)
            wd2 = torch.randn(hidden, dim, device="cuda", dtype=torch.float16)
            dense = lambda t, wd1=wd1, wd2=wd2: torch.matmul(torch.matmul(t, wd1), wd2)
            dense_ms = timed(dense, [(t,) for t in a], iters)
            dense_gpu_ms = timed(dense, [(t,) for t in a], iters, queued=True)
            # a bare read of the expert weights (torch.sum over them as fp32), which every forward must do once
            read_ms = timed(lambda: torch.sum(weights.view(-1).view(torch.float32)), [()], iters, queued=True)
            row(
                results,
                f"FMoEExpert fp16 H={hidden}",
                [tokens, dim, hidden, experts],
                ms,
                {"fastmoe_loop": loop_ms, "dense_cublas_same_flops": dense_ms},
                flops,
                "TFLOP/s",
                flops / dense_ms / 1e9,
            )
            entry = results[-1]
            entry.update(
                {
                    "rel_err_vs_fastmoe_loop": err,
                    "plugin_gpu_only_ms": gpu_ms,
                    "plugin_graph_replay_gpu_only_ms": graph_ms,
                    "dense_gpu_only_ms": dense_gpu_ms,
                    "fraction_of_dense_gpu_only": dense_gpu_ms / gpu_ms,
                    "fraction_of_dense_graph": dense_gpu_ms / graph_ms,
                    "weights_read_gpu_only_ms": read_ms,
                    "fraction_of_dense_if_only_reading_weights": dense_gpu_ms / read_ms,
                }
            )
            print(
                f"    GPU-only: plugin {gpu_ms:.4f} ms, graph replay {graph_ms:.4f} ms, dense {dense_gpu_ms:.4f} ms "
                f"-> {100 * dense_gpu_ms / gpu_ms:.0f}% of dense ({100 * dense_gpu_ms / graph_ms:.0f}% from the "
                f"graph); rel err vs loop {err:.2e}; a bare read of the {weights.numel() * 2 / 1e6:.0f} MB of expert "
                f"weights {read_ms:.4f} ms ({100 * dense_gpu_ms / read_ms:.0f}% of dense)",
                flush=True,
            )
            if profile_dir and (tokens, hidden) in ((8192, 2048), (2048, 1024)):
                entry["host_waits_per_enqueue"] = profile_fmoe(
                    call, sets, f"{profile_dir}/fmoe_profile_{tokens}x{hidden}"
                )


HOST_WAITS = (
    "cudaStreamSynchronize",
    "cudaEventSynchronize",
    "cudaDeviceSynchronize",
    "cudaMemcpy",
    "cudaMemcpy2D",
    "cudaMemset",
    "cudaStreamQuery",
    "cudaEventQuery",
    "cuStreamSynchronize",
    "cuEventSynchronize",
    "cuCtxSynchronize",
    "cuMemcpyDtoH_v2",
    "cuMemcpyHtoD_v2",
)


def profile_fmoe(call, sets, path, calls=20):
    """CUDA runtime/driver API calls made inside `calls` FMoEExpert enqueues (CUPTI through torch.profiler, each
    enqueue in a record_function range) and the per-kernel CUDA time. Returns host waits per enqueue: calls named
    in HOST_WAITS that start inside an enqueue range."""
    from torch.profiler import ProfilerActivity, profile, record_function

    with profile(activities=[ProfilerActivity.CUDA, ProfilerActivity.CPU]) as prof:
        for i in range(calls):
            with record_function("fmoe_enqueue"):
                call(*sets[i % len(sets)])
        torch.cuda.synchronize()
    events = prof.events()
    cpu = torch.autograd.DeviceType.CPU
    ranges = [e.time_range for e in events if e.name == "fmoe_enqueue" and e.device_type == cpu]
    inside = [
        e
        for e in events
        if e.name.startswith("cu")
        and e.device_type == cpu
        and any(r.start <= e.time_range.start <= r.end for r in ranges)
    ]
    api_counts = {}
    for e in inside:
        api_counts[e.name] = api_counts.get(e.name, 0) + 1
    waits = sum(n for name, n in api_counts.items() if name in HOST_WAITS)
    summary = (
        f"{len(ranges)} enqueues; API calls inside them: "
        + ", ".join(f"{k} {v}" for k, v in sorted(api_counts.items()))
        + f"\nhost waits (any of {', '.join(HOST_WAITS)}) per enqueue: {waits / max(len(ranges), 1):g}\n"
    )
    table = prof.key_averages().table(sort_by="cuda_time_total", row_limit=15, max_name_column_width=60)
    with open(path + ".txt", "w") as f:
        f.write(summary + table)
    prof.export_chrome_trace(path + ".trace.json")
    print(summary + table, flush=True)
    return waits / max(len(ranges), 1)


def bench_sync_bubble(results, iters):
    """What one host wait on an event costs the GPU timeline: the gap between a recorded event and the next
    launch after the host waited for it (what FMoEExpert paid per call before it stopped reading the counts)."""
    times = []
    x = torch.empty(1, device="cuda")
    for _ in range(iters):
        e1, e2 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        x.add_(1)
        e1.record()
        e1.synchronize()
        e2.record()
        e2.synchronize()
        times.append(e1.elapsed_time(e2))
    results.append({"op": "host wait on an event (GPU bubble)", "median_ms": statistics.median(times)})
    print(f"host event wait bubble: {statistics.median(times) * 1000:.1f} us", flush=True)


def original_clone_cost(results):
    """What LitLeo's design paid per plugin copy: a CudaStreamManager of 8 streams with 8 cuBLAS handles. Measured
    with PyTorch's per-stream cuBLAS handles + workspaces (one GEMM on each of 8 new streams)."""
    torch.cuda.synchronize()
    free0 = torch.cuda.mem_get_info()[0]
    streams = [torch.cuda.Stream() for _ in range(8)]
    a = torch.randn(256, 256, device="cuda", dtype=torch.float16)
    outs = []
    for s in streams:
        with torch.cuda.stream(s):
            outs.append(a @ a)
    torch.cuda.synchronize()
    free1 = torch.cuda.mem_get_info()[0]
    per_manager = free0 - free1
    weights_fp32 = 32 * (512 * 1024 * 2) * 4
    entry = {
        "op": "original design per plugin copy",
        "streams_handles_bytes": per_manager,
        "copies_per_layer_at_build": 3,
        "layers": 18,
        "handles_total_bytes": per_manager * 3 * 18,
        "weights_as_fields_bytes_per_copy": weights_fp32,
        "weights_total_bytes": weights_fp32 * 3 * 18,
    }
    results.append(entry)
    print(
        f"original design: {per_manager / 2**20:.1f} MiB of device memory per copy for 8 streams + 8 cuBLAS "
        f"handles/workspaces; x3 copies x18 layers = {per_manager * 54 / 2**30:.2f} GiB; weights as fields "
        f"{weights_fp32 * 54 / 2**30:.2f} GiB",
        flush=True,
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out")
    parser.add_argument("--woq-out", help="run only the WeightOnlyGemm benchmark (bench_woq.py) and write it here")
    parser.add_argument(
        "--woq-shapes", help="with --woq-out: only these K x N shapes, e.g. 1280x5120,5120x1280 (default: all six)"
    )
    parser.add_argument("--iters", type=int, default=200)
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--only-fmoe", action="store_true", help="only the FMoEExpert cases (and the sync bubble)")
    parser.add_argument("--profile-dir", help="write a per-kernel profile of FMoEExpert (8192 tokens, H=2048) here")
    args = parser.parse_args()
    harness = plugins.load_harness()
    path = plugins.find_plugin_library()
    if harness is None or path is None:
        sys.exit("the plugin library / harness is not built")
    lib = harness.Library(str(path))
    torch.manual_seed(0)
    if args.woq_out:
        from bench_woq import SHAPES, bench_woq, parse_shapes  # same folder (sys.path[0] when run as a script)

        try:
            shapes = parse_shapes(args.woq_shapes) if args.woq_shapes else SHAPES
        except ValueError as err:
            parser.error(str(err))

        meta = {
            "device": torch.cuda.get_device_name(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv),
            "torch": torch.__version__,
        }
        results = bench_woq(lib, args.iters, shapes)
        with open(args.woq_out, "w") as f:
            json.dump({**meta, **results}, f, indent=1)
        return
    if not args.out:
        parser.error("--out is required (or --woq-out)")
    results = []
    if not args.only_fmoe:
        copy_gbs = copy_bandwidth(args.iters)
        print(f"device-to-device copy: {copy_gbs:.0f} GB/s (read + write)", flush=True)
        results.append({"op": "copy bandwidth", "GB/s": copy_gbs})
        bench_layer_norm(lib, results, copy_gbs, args.iters, not args.no_compile)
        bench_masked_softmax(lib, results, copy_gbs, args.iters, not args.no_compile)
        bench_masked_fill(lib, results, copy_gbs, args.iters, not args.no_compile)
        bench_rel_pos(lib, results, copy_gbs, args.iters)
        bench_router(lib, results, copy_gbs, args.iters)
    bench_fmoe(lib, results, args.iters, args.profile_dir)
    bench_sync_bubble(results, args.iters)
    if not args.only_fmoe:
        original_clone_cost(results)
    write_results(args, results, "median of CUDA-event times, inputs rotated over 4 sets, 20 warm-up calls")


def write_results(args, results: list, timing: str) -> None:
    """Writes ``{"meta": device, versions, date, command, iters, timing; "results": results}`` to ``args.out``."""
    meta = {
        "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "python": platform.python_version(),
        "iters": args.iters,
        "fmoe_gemm": os.environ.get("TRT_HELPER_FMOE_GEMM", "built-in table"),
        "timing": timing,
    }
    with open(args.out, "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
