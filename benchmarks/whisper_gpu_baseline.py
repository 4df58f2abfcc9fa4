"""PyTorch baseline latency of Whisper (tiny.en dims) on a GPU: the bar a TensorRT engine must beat.

Times our PyTorch model (models/whisper, random weights of tiny.en dimensions, eval, no grad) and, when
transformers is importable, HF WhisperForConditionalGeneration holding the same weights, in fp32 and fp16 at
batch 1 and 8:

- encoder: mel (B, 80, 3000) -> audio features, median over iterations, CUDA events;
- transcription: log-mel of 10 s of audio per row + encoder + a greedy decode of a FIXED number of new tokens
  (random weights never produce a meaningful eot, so no early stop; the count is in the output), median,
  CUDA events around the whole call (host work and per-step host syncs included).

    python3 benchmarks/whisper_gpu_baseline.py --out $OUT/whisper_gpu.json

Needs only torch and this repository (no weights, no internet); runs on CPU too (fewer iterations, wall clock)
so it can be checked anywhere, but only GPU figures are baselines.
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
from models.whisper.audio import log_mel_spectrogram
from models.whisper.decoding import TorchRunner
from models.whisper.dims import ModelDimensions
from models.whisper.model import Whisper, random_init_

PROMPT = [50257, 50362]  # .en: sot, no_timestamps


def timed(fn, warmup, iters, device):
    """Milliseconds per call, one per timed iteration."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        if device == "cuda":
            start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            stop.record()
            stop.synchronize()
            times.append(start.elapsed_time(stop))
        else:
            begin = time.perf_counter()
            fn()
            times.append((time.perf_counter() - begin) * 1e3)
    return times


def ours_transcribe(model, audio, steps, suppress):
    """Our decoding path: mel on the device, encoder, cross K/V, prompt, then steps-1 cached greedy steps."""
    runner = TorchRunner(model)
    mel = log_mel_spectrogram(audio)
    context = runner.audio_context(mel)
    tokens = torch.tensor([PROMPT] * audio.shape[0])
    logits, cache = runner.prefix(context, tokens)
    for _ in range(steps):
        logits[:, suppress] = -float("inf")
        next_tokens = logits.argmax(dim=-1, keepdim=True)
        logits, cache = runner.step(context, next_tokens, cache)
    return logits


def hf_transcribe(model, audio, steps, suppress):
    mel = log_mel_spectrogram(audio).to(next(model.parameters()).dtype)
    return model.generate(
        input_features=mel,
        decoder_input_ids=torch.tensor([PROMPT] * audio.shape[0], device=audio.device),
        max_new_tokens=steps,
        min_new_tokens=steps,
        num_beams=1,
        do_sample=False,
        suppress_tokens=suppress,
        return_timestamps=False,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="tiny.en")
    parser.add_argument("--dtypes", nargs="+", default=["fp32", "fp16"], choices=["fp32", "fp16"])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--steps", type=int, default=32, help="new tokens decoded per utterance (fixed)")
    parser.add_argument("--audio-seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--iters", type=int, default=None, help="default 20 encoder / 10 transcription on GPU")
    parser.add_argument("--no-hf", action="store_true")
    parser.add_argument("--out")
    args = parser.parse_args(argv)

    device = "cuda" if torch.cuda.is_available() else "cpu"
    enc_iters = args.iters or (20 if device == "cuda" else 2)
    asr_iters = args.iters or (10 if device == "cuda" else 2)
    warmup = args.warmup if device == "cuda" else 1
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32
    torch.backends.cudnn.allow_tf32 = False
    dims = ModelDimensions.preset(args.size)
    base = random_init_(Whisper(dims), seed=0).eval()
    notes = [
        f"{args.size} dimensions with random weights (seed 0): latency does not depend on weight values",
        f"transcription decodes exactly {args.steps} new tokens per row after the 2-token prompt, "
        f"from {args.audio_seconds:g} s of audio per row (mel computed on the device)",
    ]
    hf_factory = None
    if not args.no_hf:
        try:
            import transformers  # noqa: F401

            from models.whisper.peers import hf_model

            hf_factory = lambda: hf_model(dims, base.state_dict(), attn_implementation="sdpa")
        except ImportError as error:
            notes.append(f"HF transformers skipped: not importable here ({error})")
    if device == "cpu":
        notes.append("no CUDA device: CPU wall-clock figures with few iterations, NOT a GPU baseline")

    try:
        import librosa  # noqa: F401  (the real mel filterbank)
    except ImportError:
        import models.whisper.audio as audio_module

        filters = torch.rand(dims.n_mels, 201, generator=torch.Generator().manual_seed(2))
        audio_module.mel_filters = lambda n_mels=80: filters
        notes.append(
            "librosa not importable: a random (80, 201) mel filterbank stands in (latency does not depend "
            "on its values)"
        )
    generator = torch.Generator().manual_seed(1)
    suppress = [220, 50256]
    results = []
    for dtype_name in args.dtypes:
        dtype = torch.float16 if dtype_name == "fp16" else torch.float32
        if device == "cpu" and dtype == torch.float16:
            notes.append("fp16 skipped on CPU")
            continue
        impls = {"ours": Whisper(dims)}
        impls["ours"].load_state_dict(base.state_dict())
        if hf_factory is not None:
            impls["hf"] = hf_factory()
        for impl, model in list(impls.items()):
            model = model.to(device=device, dtype=dtype).eval()
            encoder = model.encoder if impl == "ours" else model.model.encoder
            for batch in args.batches:
                mel = torch.randn(batch, dims.n_mels, 2 * dims.n_audio_ctx, generator=generator).to(device, dtype)
                audio = (0.1 * torch.randn(batch, int(args.audio_seconds * 16000), generator=generator)).to(device)
                with torch.inference_mode():
                    encoder_ms = timed(lambda: encoder(mel), warmup, enc_iters, device)
                    run = ours_transcribe if impl == "ours" else hf_transcribe
                    transcribe_ms = timed(lambda: run(model, audio, args.steps, suppress), warmup, asr_iters, device)
                row = {
                    "impl": impl,
                    "precision": dtype_name,
                    "batch": batch,
                    "encoder_ms_median": round(statistics.median(encoder_ms), 3),
                    "transcribe_ms_median": round(statistics.median(transcribe_ms), 3),
                    "encoder_iters": enc_iters,
                    "transcribe_iters": asr_iters,
                }
                results.append(row)
                print(json.dumps(row), flush=True)
            impls.pop(impl)
            if device == "cuda":
                torch.cuda.empty_cache()

    report = {
        "device": torch.cuda.get_device_name() if device == "cuda" else platform.processor() or platform.machine(),
        "capability": ".".join(map(str, torch.cuda.get_device_capability())) if device == "cuda" else None,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]),
        "model": args.size,
        "decode_steps": args.steps,
        "audio_seconds": args.audio_seconds,
        "timing": "median of CUDA-event timings" if device == "cuda" else "median of wall-clock timings (CPU)",
        "notes": notes,
        "results": results,
    }
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as handle:
            json.dump(report, handle, indent=1)
    print(json.dumps({k: v for k, v in report.items() if k != "results"}, indent=1))
    return report


if __name__ == "__main__":
    main()
