"""ONNX path vs helper path for the conformer-MoE encoder, on CPU (TensorRT-RTX ahead-of-time build).

For each config, in two fresh subprocesses (so peak RSS is per path):
  onnx:   torch.onnx.export of the PyTorch model → TensorRT OnnxParser (via trt_helper.backend) → build
  helper: NetworkHelper filled by the model's trt_forward → build
Both use the same builder settings (trt_helper.builder: targets SM86/SM89/SM120, one profile
1x7:1x206:6x6100 frames, fp32) and the same random weights. Reports layer count, build seconds
(build_serialized_network only), plan MB and the process's peak RSS (which includes the PyTorch model,
dropped before the build in both paths; ``model_rss_gb`` is the RSS right after creating it). Writes JSON with
device, date and command:

    python3 benchmarks/conformer_onnx_vs_helper.py --configs small litleo-18l 3m-asr \
        --out benchmarks/results/conformer_onnx_vs_helper.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # ru_maxrss is KiB on Linux


def measure(path_kind: str, config: str, precision: str, workdir: str) -> dict:
    """Run in the child process: build one plan by one path, return the figures."""
    import torch

    from models.conformer_moe.build import load_model, make_helper
    from models.conformer_moe.network import PRECISIONS, Profile
    from models.conformer_moe.onnx_export import export_onnx
    from trt_helper import NetworkHelper
    from trt_helper.backend import get_backend

    torch.set_grad_enabled(False)
    model = load_model(config, seed=0)
    figures = {"path": path_kind, "config": config, "precision": precision, "model_rss_gb": round(_rss_gb(), 2)}
    profile = Profile()
    start = time.perf_counter()
    if path_kind == "helper":
        helper = make_helper(model, precision, profile)
        del model  # the helper owns copies of every weight; like the ONNX path, drop the torch model before building
    else:
        if precision != "fp32":
            raise SystemExit("the ONNX path is measured in fp32 only")
        onnx_path = export_onnx(model, os.path.join(workdir, f"{config}.onnx"))
        figures["export_s"] = round(time.perf_counter() - start, 2)
        del model
        backend = get_backend()
        helper = NetworkHelper(PRECISIONS[precision], name=f"onnx_{config}")
        parser = backend.trt.OnnxParser(helper.network, backend.logger)
        if not parser.parse_from_file(onnx_path):
            errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
            raise SystemExit(f"OnnxParser failed on {onnx_path}: {errors}")
        f = helper.network.get_input(0).shape[2]
        helper.profiles[0] = {
            "feat": (
                (profile.min_batch, profile.min_frames, f),
                (profile.opt_batch, profile.opt_frames, f),
                (profile.max_batch, profile.max_frames, f),
            ),
            "feat_len": ((profile.min_batch,), (profile.opt_batch,), (profile.max_batch,)),
        }
    figures["define_s"] = round(time.perf_counter() - start, 2)
    report = helper.build(os.path.join(workdir, f"{config}.{path_kind}.plan"))
    figures.update(
        layers=report.layers,
        build_s=round(report.seconds, 2),
        plan_mb=round(report.plan_bytes / 2**20, 1),
        targets=list(report.targets),
        backend=report.backend,
        peak_rss_gb=round(_rss_gb(), 2),
    )
    return figures


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["small", "litleo-18l", "3m-asr"])
    parser.add_argument("--out")
    parser.add_argument("--child", nargs=3, metavar=("PATH", "CONFIG", "PRECISION"), help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print("RESULT " + json.dumps(measure(*args.child, args.workdir)), flush=True)
        return {}

    began, load_at_start = time.time(), round(os.getloadavg()[0], 2)  # other jobs on the machine skew build_s
    rows = []
    for config in args.configs:
        pair = {}
        for kind in ("onnx", "helper"):
            with tempfile.TemporaryDirectory(prefix="cmoe_bench_") as workdir:
                command = [
                    sys.executable,
                    os.path.abspath(__file__),
                    "--child",
                    kind,
                    config,
                    "fp32",
                    "--workdir",
                    workdir,
                ]
                done = subprocess.run(
                    command, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ROOT}
                )
            lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
            if done.returncode or not lines:
                raise SystemExit(f"{kind} {config} failed (rc {done.returncode}):\n{done.stderr[-3000:]}")
            pair[kind] = json.loads(lines[-1][len("RESULT ") :])
            rows.append(pair[kind])
            print(json.dumps(pair[kind]), file=sys.stderr, flush=True)
        rows.append(
            {
                "path": "ratio helper/onnx",
                "config": config,
                "layers": round(pair["helper"]["layers"] / pair["onnx"]["layers"], 3),
                "build_s": round(pair["helper"]["build_s"] / pair["onnx"]["build_s"], 3),
                "plan_mb": round(pair["helper"]["plan_mb"] / pair["onnx"]["plan_mb"], 3),
                "peak_rss_gb": round(pair["helper"]["peak_rss_gb"] / pair["onnx"]["peak_rss_gb"], 3),
            }
        )
    result = {
        "what": "conformer-MoE: torch.onnx.export + OnnxParser vs trt_helper network; TensorRT-RTX AOT build, fp32",
        "device": f"CPU only: {platform.processor() or platform.machine()}, {os.cpu_count()} cores "
        f"({platform.platform()})",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": "python3 " + " ".join(shlex.quote(a) for a in [os.path.relpath(__file__, ROOT)] + sys.argv[1:]),
        "wall_s": round(time.time() - began, 1),
        "load_avg_1m_at_start": load_at_start,
        "rows": rows,
    }
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return result


if __name__ == "__main__":
    main()
