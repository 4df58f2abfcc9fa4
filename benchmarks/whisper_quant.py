"""Quantized Whisper tiny.en variants on the fixture clips (CPU), with plan bytes.

    python3 benchmarks/whisper_quant.py [--systems fp16,int8,int4-g128,...] [--backend reference|torch] [--out FILE]

Each `ours-*` system builds the four Whisper networks (encoder, cross_kv, decoder, decoder_step) with
NetworkHelper's weight options (every nn.Linear and the tied token table weight-only quantized; convs and
positional tables stay in the network dtype), writes the TensorRT-RTX plans (AOT SM86/SM89/SM120) to measure their
bytes, and decodes every clip greedily through the reference executor (a numeric oracle: its wall time is NOT a
TensorRT latency), or with --backend torch through the PyTorch model with the same quantization (same weights, int8
cache, fake-quantized activations; rows named "<system> (torch fp32)", compared with "fp32 (torch fp32)").
int4-g128-awq / int8-awq (AWQ: block-scored scales, models.whisper.quantized.awq_groups, and weight clipping),
int4-g128-clip / int8-clip (the clipping search alone), int8-gptq / int8-g64-gptq (GPTQ, trt_helper.quant.gptq, every
linear at once; *-gptq-table: the tied table too, by GPTQ for its logits head; int8-table-gptq: that table with
round-to-nearest linears), kv-int8 (int8 decoder self-attention cache, per-tensor k/v scales) and sq-w8a8
(SmoothQuant α 0.5: int8 per-channel weights, static per-tensor int8 inputs) calibrate on the espeak clips
(tests/data/whisper/espeak, not in the WER set).
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
    awq_groups,
    calibration_audio,
    kv_cache_scales,
    smoothquant_groups,
)
from models.whisper.tokenizer import WhisperTokenizer  # noqa: E402
from models.whisper.weights import default_model_path, load_model  # noqa: E402
from trt_helper.quant import fake_quantized, quantize_linears, quantize_weight  # noqa: E402
from trt_helper.quant.awq import awq_quantize  # noqa: E402
from trt_helper.quant.gptq import gptq_quantize, gptq_weight  # noqa: E402
from trt_helper.quant.smoothquant import smoothquant  # noqa: E402
from trt_helper.quant.weight import table_bits  # noqa: E402

DATA = REPO / "tests" / "data" / "whisper"
#: system -> (network dtype, options: NetworkHelper weight options, "awq" ("scale+clip" or "clip"),
#: "kv_cache", "smoothquant" (α), "gptq" ("all"), "table": the tied token table "fp", "int8" (per
#: token), "int4" (the linears' blocks) or "gptq" (GPTQ for the logits head, int8) instead of the linears' format)
OURS = {
    "fp32": (torch.float32, {}),
    "fp16": (torch.float16, {}),
    "int8": (torch.float16, {"weights": "int8"}),
    "int4-g128": (torch.float16, {"weights": "int4", "group_size": 128}),
    "int4-g64": (torch.float16, {"weights": "int4", "group_size": 64}),
    "int8-g128": (torch.float16, {"weights": "int8", "group_size": 128}),
    "int8-g64": (torch.float16, {"weights": "int8", "group_size": 64}),
    "int8-g32": (torch.float16, {"weights": "int8", "group_size": 32}),
    "int8-fptable": (torch.float16, {"weights": "int8", "table": "fp"}),
    "int8-g128-fptable": (torch.float16, {"weights": "int8", "group_size": 128, "table": "fp"}),
    "int8-g64-fptable": (torch.float16, {"weights": "int8", "group_size": 64, "table": "fp"}),
    "int4-g128-fptable": (torch.float16, {"weights": "int4", "group_size": 128, "table": "fp"}),
    "int4-g64-fptable": (torch.float16, {"weights": "int4", "group_size": 64, "table": "fp"}),
    "int4-g128-int8table": (torch.float16, {"weights": "int4", "group_size": 128, "table": "int8"}),
    "int4-g128-int4table": (torch.float16, {"weights": "int4", "group_size": 128, "table": "int4"}),
    "int4-g128-awq": (torch.float16, {"weights": "int4", "group_size": 128, "awq": "scale+clip"}),
    "int4-g128-clip": (torch.float16, {"weights": "int4", "group_size": 128, "awq": "clip"}),
    "int8-awq": (torch.float16, {"weights": "int8", "awq": "scale+clip"}),
    "int8-clip": (torch.float16, {"weights": "int8", "awq": "clip"}),
    "int8-gptq": (torch.float16, {"weights": "int8", "gptq": "all"}),
    "int8-g64-gptq": (torch.float16, {"weights": "int8", "group_size": 64, "gptq": "all"}),
    "int8-gptq-table": (torch.float16, {"weights": "int8", "gptq": "all", "table": "gptq"}),
    "int8-table-gptq": (torch.float16, {"weights": "int8", "table": "gptq"}),
    "int8-g64-gptq-table": (torch.float16, {"weights": "int8", "group_size": 64, "gptq": "all", "table": "gptq"}),
    "kv-int8": (torch.float16, {"kv_cache": "int8"}),
    "sq-w8a8": (torch.float16, {"smoothquant": 0.5}),
}
PEERS = ("faster-whisper-float32", "faster-whisper-int8")


def awq_summary(report):
    """The AWQ search in numbers: per scale group the block output error vs round-to-nearest's and the chosen
    ratio, per linear the mean clipping ratio."""
    scales = report["scale"].values()
    ratios = torch.tensor([g["error"] / g["rtn_error"] for g in scales if g["rtn_error"] > 0])
    summary = {"clipped_linears": len(report["clip"])}
    if len(ratios):
        summary.update(
            groups=len(ratios),
            improved=int((ratios < 1).sum()),
            median_block_error_vs_rtn=round(float(ratios.median()), 3),
            median_scale_ratio=float(torch.tensor([g["ratio"] for g in scales]).median()),
        )
    if report["clip"]:
        summary["mean_clip_ratio"] = round(
            sum(c["mean_ratio"] for c in report["clip"].values()) / len(report["clip"]), 3
        )
    return summary


def gptq_table(model, run, bits, group_size):
    """The tied token table by GPTQ for its use as the logits head: the Hessian of the head's input (the decoder's
    final LayerNorm output) over ``run(model)``; the embedding lookup reads the same rounded rows."""
    sums = []

    def record(module, args, out):
        flat = out.detach().reshape(-1, out.shape[-1]).double()
        sums.append((flat.T @ flat, flat.shape[0]))

    handle = model.decoder.ln.register_forward_hook(record)
    try:
        with torch.no_grad():
            run(model)
    finally:
        handle.remove()
    hessian = 2 * sum(h for h, _ in sums) / sum(n for _, n in sums)
    return gptq_weight(model.decoder.token_embedding.weight, hessian, bits, group_size, where="gptq_table")


def plan_bytes(networks):
    with tempfile.TemporaryDirectory() as tmp:
        return {name: helper.build(Path(tmp) / f"{name}.plan").plan_bytes for name, helper in networks.items()}


def quantized_system(system, model, tokenizer, calibration):
    """(model: ``model`` or its scaled / smoothed copy, NetworkHelper options, row of calibration results) of one of
    our systems (see ``OURS``)."""
    options, row = dict(OURS[system][1]), {}
    calibrate_run = lambda m: transcribe(TorchRunner(m), tokenizer, calibration)
    bits, group_size = (8 if options.get("weights") == "int8" else 4), options.get("group_size")
    awq = options.pop("awq", None)
    if awq:  # "scale+clip" or "clip" (no scales)
        groups = () if awq == "clip" else awq_groups(model)
        model, options["quantized"], report = awq_quantize(model, calibrate_run, groups, bits, group_size)
        row["awq"] = awq_summary(report)
    gptq = options.pop("gptq", None)
    if gptq:  # "all": every linear's Hessian from the float model at once
        options["quantized"] = gptq_quantize(model, calibrate_run, bits, group_size)
        row["gptq"] = gptq
    if options.pop("kv_cache", None):
        options["kv_scales"] = row["kv_scales"] = kv_cache_scales(model, tokenizer, calibration)
    table = options.pop("table", None)
    if table == "gptq":  # int8 in the linears' blocks, as the networks would round it
        weight = gptq_table(model, calibrate_run, table_bits(bits), group_size)
        options["quantized"] = {**options.get("quantized", {}), TIED_TABLES[0]: weight}
        row["table"] = table
    elif table is not None:  # "fp", "int8" (per token) or "int4" (in the linears' blocks)
        bits = {"fp": None, "int8": 8, "int4": 4}[table]
        group = None if bits == 8 else options.get("group_size")
        weight = None if bits is None else quantize_weight(model.decoder.token_embedding.weight, bits, group)
        options["quantized"] = {**options.get("quantized", {}), TIED_TABLES[0]: weight}
        row["table"] = table
    alpha = options.pop("smoothquant", None)
    if alpha is not None:
        model, options["quantized"] = smoothquant(model, calibrate_run, smoothquant_groups(model), alpha)
        row["smoothquant_alpha"] = alpha
    return model, options, row


def torch_system(model, options):
    """The PyTorch model holding what the networks of ``options`` hold: every quantized weight dequantized (the tied
    token table too, round-to-nearest unless given), fake-quantized int8 inputs."""
    quantized = options.get("quantized")
    if "weights" in options:
        bits = 8 if options["weights"] == "int8" else 4
        quantized = {**quantize_linears(model, bits, options.get("group_size"), TIED_TABLES), **(quantized or {})}
    return fake_quantized(model, quantized) if quantized else model


def ours(system, model, tokenizer, calibration, backend, torch_dtype=torch.float32, plans=True):
    """(row, runner) of one of our systems: plan bytes (``plans``), calibration results, and the runner that decodes
    with it (the reference executor in the system's dtype, or the PyTorch model in ``torch_dtype``)."""
    dtype = OURS[system][0]
    model, options, row = quantized_system(system, model, tokenizer, calibration)
    row["backend"] = backend if backend == "reference" else f"torch {str(torch_dtype).split('.')[-1]}"
    networks = all_networks(model, dtype, **options) if plans or backend == "reference" else None
    if plans:
        row["plan_bytes"] = plan_bytes(networks)
    if backend == "reference":
        return row, ReferenceRunner(model, dtype, networks=networks)
    del networks
    torch_model = torch_system(model, options).to(torch_dtype)
    kv_scales = options.get("kv_scales")
    return row, Int8CacheRunner(torch_model, kv_scales) if kv_scales is not None else TorchRunner(torch_model)


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
    parser.add_argument("--no-plans", action="store_true", help="--backend torch: no plan builds (no plan bytes)")
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
            row, runner = ours(system, model, tokenizer, calibration, args.backend, torch_dtype, not args.no_plans)
            key = system if args.backend == "reference" else f"{system} (torch {args.torch_dtype})"
            row["texts"] = [r["text"] for r in transcribe(runner, tokenizer, [audio[n] for n in names])]
        elif system in PEERS:
            from faster_whisper import WhisperModel

            fw = WhisperModel(str(path), device="cpu", compute_type=system.rsplit("-", 1)[1], cpu_threads=2)
            row = {"texts": [faster_whisper_text(fw, audio[n]) for n in names]}
        else:
            raise SystemExit(f"unknown system {system!r}; known: {[*OURS, *PEERS]}")
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
