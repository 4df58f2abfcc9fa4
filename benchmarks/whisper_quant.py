"""Quantized Whisper tiny.en variants on the fixture clips (CPU), with plan bytes.

    python3 benchmarks/whisper_quant.py [--systems fp16,int8,int4-g128,...] [--backend reference|torch] [--out FILE]

Each `ours-*` system builds the four Whisper networks (encoder, cross_kv, decoder, decoder_step) with
NetworkHelper's weight options (every nn.Linear and the tied token table weight-only quantized; convs and
positional tables stay in the network dtype), writes the TensorRT-RTX plans (AOT SM86/SM89/SM120) to measure their
bytes, and decodes every clip greedily through the reference executor (a numeric oracle: its wall time is NOT a
TensorRT latency), or with --backend torch through the PyTorch model with the same quantization (same weights, int8
cache, fake-quantized activations; rows named "<system> (torch fp32)", compared with "fp32 (torch fp32)").
int4-g128-awq, kv-int8 (int8 decoder self-attention cache, per-tensor k/v scales) and sq-w8a8 (SmoothQuant α 0.5:
int8 per-channel weights, static per-tensor int8 inputs) calibrate on the espeak clips (tests/data/whisper/espeak,
not in the WER set); awq-search-* report the search's output error (calibration and held-out rows) only.
Peers: faster-whisper (CTranslate2) float32 and int8 on the same clips and weights. WER as benchmarks/whisper_wer.py.
The results file is rewritten after every system, so a partial run keeps what it measured.
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from models.whisper.audio import load_audio  # noqa: E402
from models.whisper.decoding import TorchRunner, transcribe  # noqa: E402
from models.whisper.networks import ReferenceRunner, all_networks  # noqa: E402
from models.whisper.peers import faster_whisper_text, word_error_rate  # noqa: E402
from models.whisper.quantized import (  # noqa: E402
    CALIBRATION_DIR,
    TIED_TABLES,
    Int8CacheRunner,
    calibration_audio,
    kv_cache_scales,
    smoothquant_groups,
)
from models.whisper.tokenizer import WhisperTokenizer  # noqa: E402
from models.whisper.weights import default_model_path, load_model  # noqa: E402
from trt_helper.quant import collect_inputs, fake_quantized, quantize_linears, quantize_weight  # noqa: E402
from trt_helper.quant.awq import awq_quantize  # noqa: E402
from trt_helper.quant.smoothquant import smoothquant  # noqa: E402

DATA = REPO / "tests" / "data" / "whisper"
#: system -> (network dtype, options: NetworkHelper weight options, "awq", "kv_cache", "smoothquant" (α), "table":
#: the tied token table "fp", "int8" (per token) or "int4" (the linears' blocks) instead of the linears' format)
OURS = {
    "fp32": (torch.float32, {}),
    "fp16": (torch.float16, {}),
    "int8": (torch.float16, {"weights": "int8"}),
    "int4-g128": (torch.float16, {"weights": "int4", "group_size": 128}),
    "int4-g64": (torch.float16, {"weights": "int4", "group_size": 64}),
    "int8-g128": (torch.float16, {"weights": "int8", "group_size": 128}),
    "int8-g64": (torch.float16, {"weights": "int8", "group_size": 64}),
    "int8-fptable": (torch.float16, {"weights": "int8", "table": "fp"}),
    "int8-g128-fptable": (torch.float16, {"weights": "int8", "group_size": 128, "table": "fp"}),
    "int8-g64-fptable": (torch.float16, {"weights": "int8", "group_size": 64, "table": "fp"}),
    "int4-g128-fptable": (torch.float16, {"weights": "int4", "group_size": 128, "table": "fp"}),
    "int4-g64-fptable": (torch.float16, {"weights": "int4", "group_size": 64, "table": "fp"}),
    "int4-g128-int8table": (torch.float16, {"weights": "int4", "group_size": 128, "table": "int8"}),
    "int4-g128-int4table": (torch.float16, {"weights": "int4", "group_size": 128, "table": "int4"}),
    "int4-g128-awq": (torch.float16, {"weights": "int4", "group_size": 128, "awq": True}),
    "kv-int8": (torch.float16, {"kv_cache": "int8"}),
    "sq-w8a8": (torch.float16, {"smoothquant": 0.5}),
}
PEERS = ("faster-whisper-float32", "faster-whisper-int8")
SEARCHES = {"awq-search-g128": 128, "awq-search-g64": 64}  # the AWQ-style search's output error only, no decoding


def error_summary(ratios):
    """How many linears a quantization beat round-to-nearest on, from their output-error ratios."""
    ratios = torch.tensor(ratios)
    return {
        "linears": len(ratios),
        "improved": int((ratios < 1).sum()),
        "median_error_ratio": round(float(ratios.median()), 3),
        "mean_error_ratio": round(float(ratios.mean()), 3),
    }


def held_out_errors(model, quantized, group_size, run):
    """Output error of every linear on rows from other clips: AWQ-searched vs round-to-nearest weights."""
    rows = collect_inputs(model, run)
    modules = dict(model.named_modules())
    ratios = []
    for path, x in rows.items():
        w = modules[path].weight.detach().float()
        awq, rtn = (
            float((x @ qw.dequantize().T - x @ w.T).pow(2).mean())
            for qw in (quantized[path], quantize_weight(w, 4, group_size))
        )
        ratios.append(awq / max(rtn, 1e-30))
    return error_summary(ratios)


def plan_bytes(networks):
    with tempfile.TemporaryDirectory() as tmp:
        return {name: helper.build(Path(tmp) / f"{name}.plan").plan_bytes for name, helper in networks.items()}


def ours(system, model, tokenizer, calibration, backend, torch_dtype=torch.float32):
    """(row, runner) of one of our systems: plan bytes, calibration results, and the runner that decodes with it
    (the reference executor in the system's dtype, or the PyTorch model in ``torch_dtype``)."""
    dtype, options = OURS[system]
    options, row = (
        dict(options),
        {"backend": backend if backend == "reference" else f"torch {str(torch_dtype).split('.')[-1]}"},
    )
    calibrate_run = lambda m: transcribe(TorchRunner(m), tokenizer, calibration)
    kv_scales = None
    if options.pop("awq", False):
        options["quantized"], errors = awq_quantize(model, calibrate_run, 4, options["group_size"])
        row["awq_output_error_vs_rtn"] = error_summary([awq / rtn for awq, rtn in errors.values() if rtn > 0])
    if options.pop("kv_cache", None):
        options["kv_scales"] = row["kv_scales"] = kv_scales = kv_cache_scales(model, tokenizer, calibration)
    table = options.pop("table", None)
    if table is not None:  # "fp", "int8" (per token) or "int4" (in the linears' blocks)
        bits = {"fp": None, "int8": 8, "int4": 4}[table]
        group = None if bits == 8 else options.get("group_size")
        weight = None if bits is None else quantize_weight(model.decoder.token_embedding.weight, bits, group)
        options["quantized"] = {**options.get("quantized", {}), TIED_TABLES[0]: weight}
        row["table"] = table
    alpha = options.pop("smoothquant", None)
    if alpha is not None:
        model, options["quantized"] = smoothquant(model, calibrate_run, smoothquant_groups(model), alpha)
        row["smoothquant_alpha"] = alpha
    networks = all_networks(model, dtype, **options)
    row["plan_bytes"] = plan_bytes(networks)
    if backend == "reference":
        return row, ReferenceRunner(model, dtype, networks=networks)
    del networks
    quantized = options.get("quantized")
    if "weights" in options:  # the networks quantize the tied token table too (round-to-nearest unless given)
        bits = 8 if options["weights"] == "int8" else 4
        quantized = {**quantize_linears(model, bits, options.get("group_size"), TIED_TABLES), **(quantized or {})}
    torch_model = (fake_quantized(model, quantized) if quantized else model).to(torch_dtype)
    return row, Int8CacheRunner(torch_model, kv_scales) if kv_scales else TorchRunner(torch_model)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--systems", default=",".join(["fp16", "int8", "int4-g128", *PEERS]))
    parser.add_argument("--backend", choices=("reference", "torch"), default="reference", help="for our systems")
    parser.add_argument(
        "--torch-dtype",
        choices=("fp32", "fp16"),
        default="fp32",
        help="dtype of --backend torch (default fp32: fp16 matmuls are ~5x slower on CPU)",
    )
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "whisper_quant.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(os.cpu_count() or 1)
    path = Path(args.model) if args.model else default_model_path()
    model = load_model(path)
    tokenizer = WhisperTokenizer(path / "tokenizer.json")
    clips = json.loads((DATA / "manifest.json").read_text())
    names = [c["file"] for c in clips]
    audio = {n: load_audio(DATA / n) for n in names}
    with_text = [i for i, c in enumerate(clips) if c["text"]]
    calibration = calibration_audio()
    out = Path(args.out)
    report = json.loads(out.read_text()) if out.exists() else {"systems": {}}
    for system in args.systems.split(","):
        start = time.perf_counter()
        key = system
        if system in OURS:
            torch_dtype = torch.float16 if args.torch_dtype == "fp16" else torch.float32
            row, runner = ours(system, model, tokenizer, calibration, args.backend, torch_dtype)
            key = system if args.backend == "reference" else f"{system} (torch {args.torch_dtype})"
            row["texts"] = [r["text"] for r in transcribe(runner, tokenizer, [audio[n] for n in names])]
        elif system in SEARCHES:
            held_out = [audio[n] for n in names[:3]]
            quantized, errors = awq_quantize(
                model, lambda m: transcribe(TorchRunner(m), tokenizer, calibration), 4, SEARCHES[system]
            )
            row = {
                "awq_output_error_vs_rtn": error_summary([awq / rtn for awq, rtn in errors.values() if rtn > 0]),
                "held_out": held_out_errors(
                    model, quantized, SEARCHES[system], lambda m: transcribe(TorchRunner(m), tokenizer, held_out)
                ),
            }
        elif system in PEERS:
            from faster_whisper import WhisperModel

            fw = WhisperModel(str(path), device="cpu", compute_type=system.rsplit("-", 1)[1], cpu_threads=2)
            row = {"texts": [faster_whisper_text(fw, audio[n]) for n in names]}
        else:
            raise SystemExit(f"unknown system {system!r}; known: {[*OURS, *PEERS, *SEARCHES]}")
        if system not in SEARCHES:
            texts = row["texts"]
            row["wer_percent"] = round(
                word_error_rate([clips[i]["text"] for i in with_text], [texts[i] for i in with_text]), 2
            )
        row.update(
            cpu_wall_seconds=round(time.perf_counter() - start, 1),
            date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            command=" ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]),
        )
        report["systems"][key] = row
        report.update(
            device=f"CPU ({os.cpu_count()} cores, {platform.machine()}), torch {torch.__version__}",
            model=str(path),
            clips=names,
            wer_clips=len(with_text),
            calibration_clips=sorted(p.name for p in CALIBRATION_DIR.glob("*.flac")),
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1) + "\n")
        print(f"{key}: { ({k: v for k, v in row.items() if k != 'texts'}) }", flush=True)
    print_table(report)


def print_table(report):
    """The markdown table; a "(torch DTYPE)" row is compared with the unquantized one of its DTYPE."""
    systems = report["systems"]
    fw32 = systems.get("faster-whisper-float32", {}).get("texts")
    fp16_bytes = sum(systems.get("fp16", {}).get("plan_bytes", {}).values()) or None
    print(
        "| system | WER % | identical to our unquantized | identical to faster-whisper float32 | plan MB (all 4) | "
        "vs fp16 plans |"
    )
    print("|---|---|---|---|---|---|")
    for system, row in systems.items():
        if "texts" not in row:
            continue
        n = len(row["texts"])
        torch_dtype = system.partition("(torch ")[2].rstrip(")")
        base = systems.get(f"{torch_dtype} (torch {torch_dtype})" if torch_dtype else "fp16", {}).get("texts")
        same = f"{sum(a == b for a, b in zip(row['texts'], base))}/{n}" if base else "-"
        same_fw = f"{sum(a == b for a, b in zip(row['texts'], fw32))}/{n}" if fw32 else "-"
        total = sum(row.get("plan_bytes", {}).values())
        ratio = f"{100 * total / fp16_bytes:.0f} %" if total and fp16_bytes else "-"
        print(
            f"| {system} | {row['wer_percent']:.2f} | {same} | {same_fw} | {total / 1e6:.1f} | {ratio} |"
            if total
            else f"| {system} | {row['wer_percent']:.2f} | {same} | {same_fw} | - | - |"
        )


if __name__ == "__main__":
    main()
