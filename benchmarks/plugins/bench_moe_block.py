"""The conformer MoE feed-forward block as the network uses it, through the plugins: router logits
(cat(embed, x) @ W_router, a MatMul layer in the engine, torch here) -> SoftmaxTopK (value, index, lengths) ->
FMoEExpert (score = value, lengths). Run eagerly through the harness and replayed from a CUDA graph, against
models/conformer_moe's MoEFeedForward (the FastMoE-style PyTorch block: argsort, bincount -> host, one FFN per
expert) eager and under torch.compile(mode="reduce-overhead").

3m-asr sizes (D 512, embed 512, E 32, H 2048), fp16, all frames valid, 1 x 206 and 8 x 1024 frames after
subsampling. Times: median of CUDA-event times with the host launch path included (the GPU is idle when the start
event is recorded), inputs rotated over 4 sets. Plugin kernel times through the harness, not engine latencies.

    PYTHONPATH=$PWD python3 benchmarks/plugins/bench_moe_block.py --out moe_block.json [--iters 200]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_plugins import ROTATE, PluginCall, graph_of, timed, write_results

from models.conformer_moe.config import CONFIGS
from models.conformer_moe.moe import MoEFeedForward
from trt_helper import plugins


class PluginBlock:
    """Router matmul (torch) -> SoftmaxTopK -> FMoEExpert on fixed buffers, for one (B, T)."""

    def __init__(self, lib, block: MoEFeedForward, x, embed, lengths):
        b, t, _ = x.shape
        e = block.num_experts
        ex = block.experts
        self.router = block.router_weights.detach()
        self.weights = [ex.w_1.weight.detach(), ex.w_1.bias.detach(), ex.w_2.weight.detach(), ex.w_2.bias.detach()]
        self.logits = torch.empty(b, t, e, device="cuda", dtype=x.dtype)
        self.value = torch.empty(b, t, 1, device="cuda", dtype=x.dtype)
        self.index = torch.empty(b, t, 1, device="cuda", dtype=torch.int32)
        self.y = torch.empty_like(x)
        self.topk = PluginCall(lib, "SoftmaxTopK", {}, [self.logits, lengths], [self.value, self.index])
        fields = {"num_experts": e, "hidden": ex.w_1.weight.shape[1], "act": 0, "has_score": 1, "has_lengths": 1}
        self.moe = PluginCall(lib, "FMoEExpert", fields, [x, self.index, self.value, lengths, *self.weights], [self.y])

    def __call__(self, x, embed, lengths):
        torch.matmul(torch.cat([embed, x], dim=-1), self.router, out=self.logits)
        self.topk(self.logits, lengths)
        self.moe(x, self.index, self.value, lengths, *self.weights)
        return self.y


def bench(lib, cfg, frames, iters, use_compile):
    torch.manual_seed(0)
    d, e, h = cfg.d_model, cfg.num_experts, cfg.expert_hidden
    block = MoEFeedForward(d, d, e, h).cuda().half().eval()
    b, t = frames
    sets = [
        (
            torch.randn(b, t, d, device="cuda", dtype=torch.float16),
            torch.randn(b, t, d, device="cuda", dtype=torch.float16),
            torch.full((b,), t, dtype=torch.int32, device="cuda"),
        )
        for _ in range(ROTATE)
    ]
    plugin = PluginBlock(lib, block, *sets[0])
    with torch.no_grad():
        want = block(sets[0][0], sets[0][1]).float()
        got = plugin(*sets[0]).float()
        err = ((got - want).norm() / want.norm()).item()
        eager_ms = timed(lambda x, em, _: block(x, em), sets, iters)
        plugin_ms = timed(plugin, sets, iters)
        # the graph reads its inputs from the buffers it was captured with: copy each new set in first (timed)
        static = [s.clone() for s in sets[0]]
        graph = graph_of(plugin, *static)

        def replay(x, em, lengths):
            static[0].copy_(x)
            static[1].copy_(em)
            static[2].copy_(lengths)
            graph.replay()

        graph_ms = timed(replay, sets, iters)
        compiled_ms = None
        if use_compile:
            try:
                compiled = torch.compile(lambda x, em: block(x, em), mode="reduce-overhead")
                for _ in range(3):
                    compiled(sets[0][0], sets[0][1])
                compiled_ms = timed(lambda x, em, _: compiled(x, em), sets, iters)
            except Exception as error:
                print(f"torch.compile failed: {error}", file=sys.stderr)
    entry = {
        "block": "MoE feed-forward (router -> top-1 -> experts x score)",
        "config": cfg.name,
        "frames": list(frames),
        "D": d,
        "E": e,
        "H": h,
        "dtype": "float16",
        "plugins_eager_ms": plugin_ms,
        "plugins_graph_ms": graph_ms,
        "torch_eager_ms": eager_ms,
        "torch_compile_reduce_overhead_ms": compiled_ms,
        "rel_err_plugins_vs_torch": err,
        "graph_speedup_vs_torch_eager": eager_ms / graph_ms,
        "graph_speedup_vs_torch_compile": compiled_ms / graph_ms if compiled_ms else None,
    }
    print(
        f"{cfg.name} {b}x{t}: plugins eager {plugin_ms:.4f} ms, graph {graph_ms:.4f} ms; torch eager "
        f"{eager_ms:.4f} ms, compile(reduce-overhead) "
        f"{'n/a' if compiled_ms is None else f'{compiled_ms:.4f} ms'}; graph {eager_ms / graph_ms:.1f}x eager"
        + (f", {compiled_ms / graph_ms:.1f}x compile" if compiled_ms else "")
        + f"; rel err {err:.2e}",
        flush=True,
    )
    return entry


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--iters", type=int, default=200)
    parser.add_argument("--no-compile", action="store_true")
    args = parser.parse_args()
    harness, path = plugins.load_harness(), plugins.find_plugin_library()
    if harness is None or path is None:
        sys.exit("the plugin library / harness is not built")
    lib = harness.Library(str(path))
    results = [
        bench(lib, CONFIGS["3m-asr"], frames, args.iters, not args.no_compile) for frames in ((1, 206), (8, 1024))
    ]
    write_results(args, results, "median of CUDA-event times incl. the host launch path, inputs rotated over 4 sets")


if __name__ == "__main__":
    main()
