"""Build time of a 24-layer d=1024 pre-LN transformer encoder written with the helper (CPU, TensorRT-RTX AOT).

python benchmarks/transformer_build.py --out benchmarks/results/transformer_build.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time

import torch
from torch import nn

import trt_helper


class Layer(nn.Module):
    """Pre-LN self-attention + GELU MLP, as in BERT/Whisper encoders."""

    def __init__(self, d: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def trt_forward(self, helper, x):
        d = helper.shape(x)[-1]
        q, k, v = helper.addChunk(helper(self.qkv, helper(self.norm1, x)), 3, -1)
        q, k, v = (helper.addPermute(helper.addUnflatten(z, -1, (self.heads, -1)), (0, 2, 1, 3)) for z in (q, k, v))
        scores = helper.addMul(helper.addMatMul(q, k, transpose_b=True), (d // self.heads) ** -0.5)
        context = helper.addMatMul(helper.addSoftmax(scores, -1), v)
        context = helper.addFlatten(helper.addPermute(context, (0, 2, 1, 3)), 2)
        x = helper.addAdd(x, helper(self.out, context))
        hidden = helper.addGELU(helper(self.fc1, helper(self.norm2, x)))
        return helper.addAdd(x, helper(self.fc2, hidden))


class Encoder(nn.Module):
    def __init__(self, layers: int, d: int, heads: int):
        super().__init__()
        self.layers = nn.ModuleList(Layer(d, heads) for _ in range(layers))

    def trt_forward(self, helper, x):
        for layer in self.layers:
            x = helper(layer, x)
        return x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--layers", type=int, default=24)
    parser.add_argument("--d", type=int, default=1024)
    parser.add_argument("--heads", type=int, default=16)
    parser.add_argument("--dtype", choices=["fp32", "fp16"], default="fp16")
    parser.add_argument("--out")
    args = parser.parse_args()
    dtype = {"fp32": torch.float32, "fp16": torch.float16}[args.dtype]
    model = Encoder(args.layers, args.d, args.heads).eval()
    start = time.perf_counter()
    helper = trt_helper.NetworkHelper(dtype, name="encoder")
    x = helper.addInput(
        "x", dtype, (-1, -1, args.d), min_shape=(1, 1, args.d), opt_shape=(1, 256, args.d), max_shape=(8, 1024, args.d)
    )
    helper.markOutput(helper(model, x), "y")
    define_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        report = helper.build(os.path.join(tmp, "encoder.plan"))
    result = {
        "what": f"{args.layers}-layer d={args.d} transformer encoder ({args.dtype}) built with trt_helper",
        "layers": report.layers,
        "define_seconds": round(define_s, 2),
        "build_seconds": round(report.seconds, 2),
        "plan_mb": round(report.plan_bytes / 2**20, 1),
        "targets": report.targets,
        "backend": report.backend,
        "backend_version": helper.backend.version,
        "cpu": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "date": datetime.date.today().isoformat(),
        "command": "python " + " ".join(sys.argv),
    }
    print(json.dumps(result, indent=1))
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(result, handle, indent=1)


if __name__ == "__main__":
    main()
