"""Load and fault run of Whisper tiny.en served by Triton (the server bundled in nvidia-pytriton, CPU, loopback only).

    python benchmarks/serve_load.py [--plans plans/whisper] [--requests 200] [--concurrency 200] [--out FILE.json]

1. load: --requests requests (sentence clips, as AUDIO bytes, HTTP and gRPC alternating) from --concurrency client
   threads at once; requests/s, p50/p99 latency, the batch sizes the server formed (its statistics), errors; every
   transcript is compared with `sh infer.sh whisper --backend torch` on the same file.
2. fault: --fault-requests requests; after --kill-after s the server is SIGKILLed and restarted. A request that
   fails with a connection error is retried until --deadline; each one must end with the right text.
3. bad requests, sent while good requests are served: wrong dtype, empty audio, audio over 30 s, missing input,
   10 MB of noise (as file bytes and as samples). Each must fail with its own message; the good ones must pass.
--phases picks and orders them; the results file is rewritten after each phase. Every loop is bounded in count
and time. Needs the plans (python -m models.whisper.build --precision fp32).
"""

from __future__ import annotations

import argparse
import concurrent.futures as futures
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trt_helper.triton import TritonServer, export_whisper  # noqa: E402
from trt_helper.triton.client import WhisperClient  # noqa: E402

CLIPS = sorted((ROOT / "tests" / "data" / "whisper").glob("sentence_*.flac"))[:8]
RETRYABLE = (
    "connect",
    "unavailable",
    "reset",
    "refused",
    "not healthy",
    "socket closed",
    "broken pipe",
    "connection",
    "eof",
    "stub process",
    "server is not ready",
    "timed out",
)


def expected_transcripts(clips) -> dict:
    """{file name: {"text", "tokens"}} from `sh infer.sh whisper --backend torch` (the reference)."""
    out = subprocess.run(
        ["sh", str(ROOT / "infer.sh"), "whisper", "--backend", "torch", *map(str, clips)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    return {Path(row["audio"]).name: {"text": row["text"], "tokens": row["tokens"]} for row in rows}


def batch_stats(server) -> dict:
    """{batch size: executions} and the inference/execution counts of the whisper model."""
    with urllib.request.urlopen(f"http://{server.http_url}/v2/models/whisper/stats", timeout=30) as answer:
        stats = json.load(answer)["model_stats"][0]
    sizes = {int(s["batch_size"]): int(s["compute_infer"]["count"]) for s in stats.get("batch_stats", [])}
    return {"sizes": sizes, "inferences": int(stats["inference_count"]), "executions": int(stats["execution_count"])}


def stats_delta(before: dict, after: dict) -> dict:
    sizes = {k: v - before["sizes"].get(k, 0) for k, v in after["sizes"].items() if v - before["sizes"].get(k, 0)}
    executions = after["executions"] - before["executions"]
    inferences = after["inferences"] - before["inferences"]
    return {
        "formed_batches": dict(sorted(sizes.items())),
        "executions": executions,
        "inferences": inferences,
        "mean_batch": round(inferences / executions, 2) if executions else None,
    }


def one_request(server, index: int, expected: dict, deadline: float, retry: bool) -> dict:
    """One clip through the server; with ``retry``, connection errors are retried until ``deadline``."""
    clip = CLIPS[index % len(CLIPS)]
    protocol = ("http", "grpc")[index % 2]
    errors, start = [], time.monotonic()
    while True:
        url = server.http_url if protocol == "http" else server.grpc_url
        try:
            client = WhisperClient(url, protocol, timeout=max(1.0, deadline - time.monotonic()))
            try:
                result = client.transcribe(audio=clip.read_bytes())
            finally:
                client.close()
            right = result == expected[clip.name]
            return {
                "index": index,
                "protocol": protocol,
                "clip": clip.name,
                "latency": time.monotonic() - start,
                "outcome": "right" if right else "wrong",
                "errors": errors,
                **({} if right else {"got": result, "expected": expected[clip.name]}),
            }
        except Exception as error:
            message = f"{type(error).__name__}: {error}"
            errors.append(message[:300])
            if not retry or time.monotonic() > deadline or not any(s in message.lower() for s in RETRYABLE):
                return {
                    "index": index,
                    "protocol": protocol,
                    "clip": clip.name,
                    "latency": time.monotonic() - start,
                    "outcome": "error",
                    "errors": errors,
                }
            time.sleep(1.0)


def run_many(server, count: int, concurrency: int, expected: dict, deadline: float, retry=False, during=None):
    """``count`` requests from ``concurrency`` threads; ``during(start_time)`` runs beside them (fault injection)."""
    start = time.monotonic()
    with futures.ThreadPoolExecutor(concurrency) as pool:
        jobs = [pool.submit(one_request, server, i, expected, deadline, retry) for i in range(count)]
        side = threading.Thread(target=during, args=(start,)) if during else None
        if side:
            side.start()
        results = [job.result() for job in jobs]
        if side:
            side.join()
    return results, time.monotonic() - start


def summary(results, seconds) -> dict:
    latencies = sorted(r["latency"] for r in results if r["outcome"] == "right")
    outcomes = {k: sum(r["outcome"] == k for r in results) for k in ("right", "wrong", "error")}
    return {
        "requests": len(results),
        **outcomes,
        "seconds": round(seconds, 1),
        "requests_per_s": round(outcomes["right"] / seconds, 3),
        "p50_s": round(float(np.percentile(latencies, 50)), 2) if latencies else None,
        "p99_s": round(float(np.percentile(latencies, 99)), 2) if latencies else None,
        "retried_then_right": sum(bool(r["errors"]) and r["outcome"] == "right" for r in results),
        "first_errors": sorted({e for r in results for e in r["errors"][:1]})[:5],
        "wrong_examples": [r for r in results if r["outcome"] == "wrong"][:3],
    }


def bad_requests(server) -> list[dict]:
    """Each bad request's error message (or 'SERVED' when it was wrongly accepted)."""
    import soundfile

    rng = np.random.default_rng(0)
    long_wav = io.BytesIO()
    soundfile.write(long_wav, np.zeros(16000 * 31, np.float32), 16000, format="WAV")
    cases = {
        "wrong dtype (SAMPLES as FP64)": {"samples": np.zeros(16000, np.float64)},
        "empty audio (AUDIO of 0 bytes)": {"audio": b""},
        "empty audio (SAMPLES of 0 samples)": {"samples": np.zeros(0, np.float32)},
        "31 s of audio, no chunking (WAV bytes)": {"audio": long_wav.getvalue()},
        "missing input (neither AUDIO nor SAMPLES)": {},
        "10 MB of noise as AUDIO bytes": {"audio": rng.integers(0, 256, 10 * 2**20, dtype=np.uint8).tobytes()},
        "10 MB of noise as SAMPLES (164 s)": {"samples": rng.standard_normal(10 * 2**20 // 4).astype(np.float32)},
    }
    answers = []
    for name, kwargs in cases.items():
        protocol = ("http", "grpc")[len(answers) % 2]
        client = WhisperClient(server.http_url if protocol == "http" else server.grpc_url, protocol)
        start = time.monotonic()
        try:
            client.transcribe(**kwargs)
            message = "SERVED"
        except Exception as error:
            message = str(error)
        finally:
            client.close()
        answers.append(
            {
                "request": name,
                "protocol": protocol,
                "error": message[:400],
                "seconds": round(time.monotonic() - start, 2),
            }
        )
    return answers


def markdown(report: dict) -> str:
    """The load table, the fault run and the bad requests as Markdown."""
    lines = [
        f"# Whisper tiny.en served by Triton: load and fault run ({report['date']})",
        "",
        f"Machine: {report['machine']}; load average at start {report['load_average_at_start']} (other jobs "
        f"shared the 2 cores). Server: {report['server']}. Model: {report['model']}. Reference: "
        f"{report['reference']}. Command: `{report['command']}`. Server start {report['startup_s']} s.",
        "",
        "| phase | requests | right | wrong | error | retried→right | req/s | p50 s | p99 s | formed batches "
        "(size: count) | mean batch |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for phase in ("load", "fault", "good_during_bad"):
        row = report.get(phase)
        if row:
            batches = ", ".join(f"{k}: {v}" for k, v in row.get("formed_batches", {}).items()) or "-"
            lines.append(
                f"| {phase} | {row['requests']} | {row['right']} | {row['wrong']} | {row['error']} | "
                f"{row['retried_then_right']} | {row['requests_per_s']} | {row['p50_s']} | {row['p99_s']} | "
                f"{batches} | {row.get('mean_batch', '-')} |"
            )
    if "fault_killed_at_s" in report:
        lines += [
            "",
            f"Fault run: server SIGKILLed {report['fault_killed_at_s']} s into the run, restarted in "
            f"{report.get('fault_restart_s')} s; first errors seen by clients: "
            + "; ".join(f"`{e[:160]}`" for e in report["fault"]["first_errors"]),
        ]
    lines += ["", "| bad request | protocol | error returned | s |", "|---|---|---|---|"]
    for bad in report.get("bad_requests", []):
        error = bad["error"][:200].replace("|", "/")
        lines.append(f"| {bad['request']} | {bad['protocol']} | `{error}` | {bad['seconds']} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", default=str(ROOT / "plans" / "whisper"))
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--fault-requests", type=int, default=32)
    parser.add_argument("--kill-after", type=float, default=20.0, help="seconds into the fault run")
    parser.add_argument("--good-during-bad", type=int, default=8)
    parser.add_argument(
        "--deadline",
        type=float,
        default=2400.0,
        help="seconds any phase may take (also each client's timeout: queued requests wait)",
    )
    parser.add_argument("--executor", default="torch", choices=("torch", "reference"))
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "serve_load.json"))
    parser.add_argument("--phases", default="load,fault,bad", help="comma list of load, fault, bad")
    args = parser.parse_args(argv)
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    if not phases or set(phases) - {"load", "fault", "bad"}:
        parser.error(f"--phases: expected a comma list of load, fault, bad; got {args.phases!r}")

    expected = expected_transcripts(CLIPS)
    work = Path(tempfile.mkdtemp(prefix="serve_load-"))
    export_whisper(work / "repo", args.plans, "fp32", args.executor)
    report = {
        "date": time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()),
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, no GPU",
        "load_average_at_start": os.getloadavg(),
        "command": "python " + " ".join(sys.argv),
        "server": "tritonserver 2.51 bundled in nvidia-pytriton 0.7.0, Python backend, CPU",
        "model": f"whisper tiny.en, BLS greedy loop over 4 network models ({args.executor} executor, fp32), "
        "dynamic batching max 8, queue delay 20 ms",
        "reference": "sh infer.sh whisper --backend torch on the same files",
    }
    server = TritonServer(work / "repo", log=work / "server.log")
    started = time.monotonic()
    server.start()
    report["startup_s"] = round(time.monotonic() - started, 1)
    run = {"load": load_phase, "fault": fault_phase, "bad": bad_phase}
    try:
        for phase in phases:
            run[phase](server, args, expected, report)
            write(report, args.out)  # after every phase: a run stopped later keeps what it measured
    finally:
        server.stop()
    return 0


def load_phase(server, args, expected, report):
    before = batch_stats(server)
    results, seconds = run_many(server, args.requests, args.concurrency, expected, time.monotonic() + args.deadline)
    report["load"] = {
        **summary(results, seconds),
        **stats_delta(before, batch_stats(server)),
        "concurrency": args.concurrency,
    }
    print(json.dumps(report["load"]), flush=True)


def fault_phase(server, args, expected, report):
    def kill_and_restart(start):
        time.sleep(max(0.0, args.kill_after - (time.monotonic() - start)))
        report["fault_killed_at_s"] = round(time.monotonic() - start, 1)
        server.kill()
        restart = time.monotonic()
        server.start()
        report["fault_restart_s"] = round(time.monotonic() - restart, 1)

    results, seconds = run_many(
        server,
        args.fault_requests,
        args.fault_requests,
        expected,
        time.monotonic() + args.deadline,
        retry=True,
        during=kill_and_restart,
    )
    report["fault"] = summary(results, seconds)
    print(json.dumps(report["fault"]), flush=True)


def bad_phase(server, args, expected, report):
    good = {}

    def serve_good(_):
        good["results"], good["seconds"] = run_many(
            server, args.good_during_bad, args.good_during_bad, expected, time.monotonic() + args.deadline
        )

    side = threading.Thread(target=serve_good, args=(0,))
    side.start()
    report["bad_requests"] = bad_requests(server)
    side.join()
    report["good_during_bad"] = summary(good["results"], good["seconds"])
    print(json.dumps({"bad": report["bad_requests"], "good": report["good_during_bad"]}), flush=True)


def write(report, out):
    Path(out).write_text(json.dumps(report, indent=1) + "\n")
    Path(out).with_suffix(".md").write_text(markdown(report))
    print(f"wrote {out} and {Path(out).with_suffix('.md')}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
