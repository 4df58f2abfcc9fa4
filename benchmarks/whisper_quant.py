"""Quantized Whisper tiny.en variants on the fixture clips (CPU, reference executor), with plan bytes.

    python3 benchmarks/whisper_quant.py [--systems fp16,int8,int4-g128,...] [--out FILE.json]

Each `ours-*` system builds the four Whisper networks (encoder, cross_kv, decoder, decoder_step) with
NetworkHelper's weight options (every nn.Linear weight-only quantized; convs, embeddings and the tied logits head
stay in the network dtype), writes the TensorRT-RTX plans (AOT SM86/SM89/SM120) to measure their bytes, and decodes
every clip greedily through the reference executor (a numeric oracle: its wall time is NOT a TensorRT latency).
int4-g128-awq and kv-int8 (int8 decoder self-attention cache, per-tensor k/v scales) calibrate on the clips without a
reference text (not in the WER); awq-search-* report the search's output error (calibration and held-out) only.
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
from models.whisper.tokenizer import WhisperTokenizer  # noqa: E402
from models.whisper.weights import default_model_path, load_model  # noqa: E402
from trt_helper.quant import calibrate, collect_inputs, quantize_weight  # noqa: E402
from trt_helper.quant.awq import awq_quantize  # noqa: E402

DATA = REPO / "tests" / "data" / "whisper"
#: system -> (network dtype, NetworkHelper weight options)
OURS = {
    "fp32": (torch.float32, {}),
    "fp16": (torch.float16, {}),
    "int8": (torch.float16, {"weights": "int8"}),
    "int4-g128": (torch.float16, {"weights": "int4", "group_size": 128}),
    "int4-g64": (torch.float16, {"weights": "int4", "group_size": 64}),
    "int4-g128-awq": (torch.float16, {"weights": "int4", "group_size": 128, "awq": True}),
    "kv-int8": (torch.float16, {"kv_cache": "int8"}),
}
PEERS = ("faster-whisper-float32", "faster-whisper-int8")
SEARCHES = {"awq-search-g128": 128, "awq-search-g64": 64}  # the AWQ-style search's output error only, no decoding


def awq_summary(errors):
    """How much the AWQ-style search lowered each linear's output error on its calibration rows."""
    ratios = torch.tensor([awq / rtn for awq, rtn in errors.values() if rtn > 0])
    return {
        "linears": len(errors),
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
    ratios = torch.tensor(ratios)
    return {
        "linears": len(ratios),
        "improved": int((ratios < 1).sum()),
        "median_error_ratio": round(float(ratios.median()), 3),
        "mean_error_ratio": round(float(ratios.mean()), 3),
    }


def kv_scales(model, run):
    """Per-tensor int8 scales (k, v) of the decoder self-attention cache: absmax of the key / value projections'
    outputs over every layer on the calibration clips, / 127."""
    amax = calibrate(model.decoder, run=lambda decoder: run(model), per_channel=False, output=True)
    return tuple(max(float(v) for p, v in amax.items() if p.endswith(f".attn.{kv}")) / 127 for kv in ("key", "value"))


def plan_bytes(networks):
    with tempfile.TemporaryDirectory() as tmp:
        return {name: helper.build(Path(tmp) / f"{name}.plan").plan_bytes for name, helper in networks.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--systems", default=",".join(["fp16", "int8", "int4-g128", *PEERS]))
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
    out = Path(args.out)
    report = json.loads(out.read_text()) if out.exists() else {"systems": {}}
    for system in args.systems.split(","):
        start = time.perf_counter()
        row = {}
        if system in OURS:
            dtype, options = OURS[system]
            options = dict(options)
            if options.pop("awq", False):
                calibration = [audio[n] for i, n in enumerate(names) if i not in with_text]
                options["quantized"], errors = awq_quantize(
                    model, lambda m, c=calibration: transcribe(TorchRunner(m), tokenizer, c), 4, options["group_size"]
                )
                row["awq_output_error_vs_rtn"] = awq_summary(errors)
            if options.pop("kv_cache", None):
                calibration = [audio[n] for i, n in enumerate(names) if i not in with_text]
                options["kv_scales"] = row["kv_scales"] = kv_scales(
                    model, lambda m, c=calibration: transcribe(TorchRunner(m), tokenizer, c)
                )
            networks = all_networks(model, dtype, **options)
            row["plan_bytes"] = plan_bytes(networks)
            runner = ReferenceRunner(model, dtype, networks=networks)
            texts = [r["text"] for r in transcribe(runner, tokenizer, [audio[n] for n in names])]
        elif system in SEARCHES:
            calibration = [audio[n] for i, n in enumerate(names) if i not in with_text]
            held_out = [audio[n] for n in names[:3]]
            quantized, errors = awq_quantize(
                model, lambda m, c=calibration: transcribe(TorchRunner(m), tokenizer, c), 4, SEARCHES[system]
            )
            row["awq_output_error_vs_rtn"] = awq_summary(errors)
            row["held_out"] = held_out_errors(
                model, quantized, SEARCHES[system], lambda m, c=held_out: transcribe(TorchRunner(m), tokenizer, c)
            )
            report["systems"][system] = row
            print(f"{system}: {row}", flush=True)
            continue
        elif system in PEERS:
            from faster_whisper import WhisperModel

            fw = WhisperModel(str(path), device="cpu", compute_type=system.rsplit("-", 1)[1], cpu_threads=2)
            texts = [faster_whisper_text(fw, audio[n]) for n in names]
        else:
            raise SystemExit(f"unknown system {system!r}; known: {[*OURS, *PEERS, *SEARCHES]}")
        row.update(
            texts=texts,
            cpu_wall_seconds=round(time.perf_counter() - start, 1),
            wer_percent=round(word_error_rate([clips[i]["text"] for i in with_text], [texts[i] for i in with_text]), 2),
        )
        report["systems"][system] = row
        report.update(
            date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            command=" ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]),
            device=f"CPU ({os.cpu_count()} cores, {platform.machine()}), torch {torch.__version__}",
            model=str(path),
            clips=names,
            wer_clips=len(with_text),
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1) + "\n")
        print(
            f"{system}: WER {row['wer_percent']} %, {row['cpu_wall_seconds']} s, plans {row.get('plan_bytes')}",
            flush=True,
        )
    print_table(report)


def print_table(report):
    systems = report["systems"]
    base = systems.get("fp16", {}).get("texts")
    fw32 = systems.get("faster-whisper-float32", {}).get("texts")
    fp16_bytes = sum(systems.get("fp16", {}).get("plan_bytes", {}).values()) or None
    print(
        "| system | WER % | identical to our fp16 | identical to faster-whisper float32 | plan MB (all 4) | "
        "vs fp16 plans |"
    )
    print("|---|---|---|---|---|---|")
    for system, row in systems.items():
        if "texts" not in row:
            continue
        n = len(row["texts"])
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
