"""PyTorch baseline latency of the conformer-MoE encoder: the bar a TensorRT engine must beat.

Runs the PyTorch model (random weights, eval, no grad) in fp32 and fp16 at 1×206×F, 1×1024×F,
1×2048×F and 8×1024×F, and prints (and optionally writes) JSON with the median latency per case,
timed with CUDA events, plus device, date and command. Needs only torch and this repository:

    python3 benchmarks/conformer_gpu_baseline.py --out $OUT/conformer_gpu.json

The MoE dispatch copies the per-expert token counts to the host once per MoE block, as FastMoE
does, so these are eager-PyTorch figures of the original model, not of a fused kernel.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from models.conformer_moe import build_model, get_config

SHAPES = ((1, 206), (1, 1024), (1, 2048), (8, 1024))


def time_model(model, feat, feat_len, warmup: int, iters: int, device: str) -> list[float]:
    """Milliseconds per forward, one entry per timed iteration."""
    with torch.inference_mode():
        for _ in range(warmup):
            model(feat, feat_len)
        times = []
        for _ in range(iters):
            if device == "cuda":
                start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                model(feat, feat_len)
                stop.record()
                stop.synchronize()
                times.append(start.elapsed_time(stop))
            else:
                begin = time.perf_counter()
                model(feat, feat_len)
                times.append((time.perf_counter() - begin) * 1e3)
    return times


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["litleo-18l", "3m-asr"])
    parser.add_argument("--dtypes", nargs="+", default=["fp32", "fp16"], choices=["fp32", "fp16"])
    parser.add_argument(
        "--shapes", nargs="+", default=[f"{b}x{t}" for b, t in SHAPES], help="BxT cases (F comes from the config)"
    )
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("no CUDA device visible to torch; pass --device cpu for a CPU run")

    began = time.time()
    device_name = torch.cuda.get_device_name() if args.device == "cuda" else platform.processor() or "cpu"
    cases = []
    for name in args.configs:
        config = get_config(name)
        base = build_model(config, seed=args.seed)
        for dtype_name in args.dtypes:
            dtype = torch.float16 if dtype_name == "fp16" else torch.float32
            model = base.to(device=args.device, dtype=dtype)
            for shape in args.shapes:
                batch, frames = (int(v) for v in shape.split("x"))
                generator = torch.Generator().manual_seed(args.seed)
                feat = torch.randn(batch, frames, config.input_dim, generator=generator).to(args.device, dtype)
                feat_len = torch.full((batch,), frames, dtype=torch.int32, device=args.device)
                times = time_model(model, feat, feat_len, args.warmup, args.iters, args.device)
                cases.append(
                    {
                        "config": name,
                        "dtype": dtype_name,
                        "shape": f"{batch}x{frames}x{config.input_dim}",
                        "median_ms": round(statistics.median(times), 3),
                        "min_ms": round(min(times), 3),
                        "max_ms": round(max(times), 3),
                        "iters": args.iters,
                        "warmup": args.warmup,
                    }
                )
                print(json.dumps(cases[-1]), file=sys.stderr, flush=True)
            base = model.float()
        del base, model
        if args.device == "cuda":
            torch.cuda.empty_cache()

    result = {
        "what": "PyTorch eager latency of the conformer-MoE encoder (random weights), median over iters",
        "device": device_name,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": "python3 " + " ".join(shlex.quote(a) for a in sys.argv),
        "timer": "CUDA events" if args.device == "cuda" else "time.perf_counter",
        "wall_s": round(time.time() - began, 1),
        "cases": cases,
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return result


if __name__ == "__main__":
    main()
