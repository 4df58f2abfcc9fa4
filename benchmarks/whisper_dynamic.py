"""Dynamic encoder length (models.whisper.dynamic) against the 30 s window: WER, agreement and encoder time.

    python3 benchmarks/whisper_dynamic.py [--models tiny.en,base] [--reference-clips 3] [--clips N]
                                          [--out benchmarks/results/whisper_dynamic.json]
    python3 benchmarks/whisper_dynamic.py --device cuda [--models tiny.en,base] [--out FILE]

On the flite clips (the 29 s clip included; greedy, no timestamps, language en): WER of each mode, how many
transcripts are identical, and the encoder time per clip (PyTorch on CPU, median; each clip's two modes are
timed back to back, so a busy machine slows both alike). The reference executor's encoder (fp32 networks) is
timed on the first --reference-clips clips: it is a numeric oracle, so its ratio says how much arithmetic is
saved, not what a TensorRT engine would gain.

--device cuda times only the encoder, on a GPU, with our PyTorch model holding random weights of each model's
dimensions (time does not depend on the values; no weights or audio files travel): fp32 (TF32 off) and fp16, CUDA
events, warm-up, median. Each clip with a reference text is timed at its trimmed length (clip_frames of its
duration in the manifest, = trim() of its real mel, tested) against the 3000-frame window, at batch 1, plus one
batch of the first 8 clips trimmed to the longest; "audio_context" adds the cross K/V projection and the
host-to-device copy of the 30 s mel window, as the runners do it.
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from benchmarks.whisper_gpu_baseline import timed as device_timed  # noqa: E402
from models.whisper.audio import load_audio  # noqa: E402
from models.whisper.decoding import TorchRunner  # noqa: E402
from models.whisper.dims import ModelDimensions  # noqa: E402
from models.whisper.dynamic import (  # noqa: E402
    PAD_FRAMES,
    DynamicReferenceRunner,
    DynamicTorchRunner,
    clip_frames,
    encode,
    trim,
)
from models.whisper.long_form import TranscribeOptions, transcribe_files, whole_mel, window  # noqa: E402
from models.whisper.model import Whisper, random_init_  # noqa: E402
from models.whisper.networks import ReferenceRunner  # noqa: E402
from models.whisper.peers import word_error_rate  # noqa: E402
from models.whisper.sources import resolve_model  # noqa: E402
from models.whisper.tokenizer import WhisperTokenizer  # noqa: E402
from models.whisper.weights import load_model  # noqa: E402

DATA = REPO / "tests" / "data" / "whisper"


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(model_name, reference_clips, count):
    path = resolve_model(model_name)
    model = load_model(path)
    tokenizer = WhisperTokenizer(path / "tokenizer.json")
    clips = [c for c in json.loads((DATA / "manifest.json").read_text()) if c["text"]][:count]
    audio = [load_audio(DATA / c["file"]) for c in clips]
    full, dynamic = TorchRunner(model), DynamicTorchRunner(model)
    options = TranscribeOptions(language="en")
    texts = {
        name: [r["text"] for r in transcribe_files(runner, tokenizer, audio, options, batch_size=1)]
        for name, runner in (("full", full), ("dynamic", dynamic))
    }
    refs = [c["text"] for c in clips]
    windows = [window(m, 0, min(3000, m.shape[1] - 1)) for m in map(whole_mel, audio)]
    times = {"full": [], "dynamic": []}
    with torch.no_grad():
        for mel in windows:
            times["full"].append(timed(lambda: full.audio_context(mel)))
            times["dynamic"].append(timed(lambda: dynamic.audio_context(mel)))
    row = {
        "clips": len(clips),
        "wer_full": round(word_error_rate(refs, texts["full"]), 2),
        "wer_dynamic": round(word_error_rate(refs, texts["dynamic"]), 2),
        "identical": sum(a == b for a, b in zip(texts["full"], texts["dynamic"])),
        "mean_frames_dynamic": round(statistics.mean(trim(m).shape[-1] for m in windows)),
        "encoder_ms_torch_median": {k: round(1000 * statistics.median(v), 1) for k, v in times.items()},
        "encoder_ms_torch_total": {k: round(1000 * sum(v), 1) for k, v in times.items()},
        "differing": {c["file"]: [a, b] for c, a, b in zip(clips, texts["full"], texts["dynamic"]) if a != b},
    }
    if reference_clips:
        reference = {"full": ReferenceRunner(model, torch.float32), "dynamic": DynamicReferenceRunner(model)}
        ref_times = {
            k: [timed(lambda: r.audio_context(mel)) for mel in windows[:reference_clips]] for k, r in reference.items()
        }
        row["encoder_s_reference_executor"] = {k: [round(t, 2) for t in v] for k, v in ref_times.items()}
    print(model_name, {k: v for k, v in row.items() if k != "differing"}, flush=True)
    return row


def host_windows(lengths, n_mels, generator):
    """(B, n_mels, 3000) windows on the host: random content of length - PAD_FRAMES frames, then exact zeros."""
    windows = torch.zeros(len(lengths), n_mels, 3000)
    for b, length in enumerate(lengths):
        content = length - PAD_FRAMES if length < 3000 else 3000
        windows[b, :, :content] = torch.randn(n_mels, content, generator=generator)
    return windows


def cuda_times(model, clips, frames, warmup, iters):
    """One precision's encoder and audio-context medians (ms) on the model's device (CUDA events on a GPU)."""
    generator = torch.Generator().manual_seed(0)
    n_mels, (device, dtype) = model.dims.n_mels, (lambda p: (p.device, p.dtype))(next(model.parameters()))
    full, dynamic = TorchRunner(model), DynamicTorchRunner(model)

    def median_ms(fn):
        return round(statistics.median(device_timed(fn, warmup, iters, device.type)), 3)

    def mel(batch, length):
        return torch.randn(batch, n_mels, length, generator=generator).to(device, dtype)

    def encoder_ms(batch, length):
        return median_ms(lambda x=mel(batch, length): encode(model.encoder, x))

    lengths = sorted(set(frames.values()))
    first8 = [frames[c["file"]] for c in clips[:8]]
    with torch.inference_mode():
        encoder = {n: encoder_ms(1, n) for n in [3000, *lengths]}
        context_full = median_ms(lambda w=host_windows(lengths[:1], n_mels, generator): full.audio_context(w))
        context = {
            n: median_ms(lambda w=host_windows([n], n_mels, generator): dynamic.audio_context(w)) for n in lengths
        }
        batch8_windows = host_windows(first8, n_mels, generator)
        batch8 = {
            "frames": max(first8),
            "encoder_ms": {"full": encoder_ms(8, 3000), "dynamic": encoder_ms(8, max(first8))},
            "audio_context_ms": {
                "full": median_ms(lambda: full.audio_context(batch8_windows)),
                "dynamic": median_ms(lambda: dynamic.audio_context(batch8_windows)),
            },
        }
    per_clip = [encoder[frames[c["file"]]] for c in clips]
    per_clip_context = [context[frames[c["file"]]] for c in clips]
    return {
        "encoder_ms_30s_window": encoder[3000],
        "encoder_ms_trimmed_median_over_clips": round(statistics.median(per_clip), 3),
        "encoder_speedup_over_clips": round(len(clips) * encoder[3000] / sum(per_clip), 2),
        "audio_context_ms_30s_window": context_full,
        "audio_context_ms_trimmed_median_over_clips": round(statistics.median(per_clip_context), 3),
        "audio_context_speedup_over_clips": round(len(clips) * context_full / sum(per_clip_context), 2),
        "batch8_first8_clips": batch8,
        "encoder_ms_by_frames": {n: encoder[n] for n in lengths},
    }


def run_cuda(model_name, warmup, iters):
    """Encoder time on the GPU, the 30 s window vs each clip's trimmed length, fp32 and fp16 (random weights)."""
    clips = [c for c in json.loads((DATA / "manifest.json").read_text()) if c["text"]]
    frames = {c["file"]: clip_frames(c["duration"]) for c in clips}
    base = random_init_(Whisper(ModelDimensions.preset(model_name)), seed=0).eval()
    row = {"clips": len(clips), "mean_frames_dynamic": round(statistics.mean(frames.values())), "frames": frames}
    for precision, dtype in (("fp32", torch.float32), ("fp16", torch.float16)):
        model = Whisper(base.dims)
        model.load_state_dict(base.state_dict())
        row[precision] = cuda_times(model.to("cuda", dtype).eval(), clips, frames, warmup, iters)
        print(
            model_name, precision, {k: v for k, v in row[precision].items() if k != "encoder_ms_by_frames"}, flush=True
        )
        del model
        torch.cuda.empty_cache()
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="tiny.en,base")
    parser.add_argument("--reference-clips", type=int, default=3)
    parser.add_argument("--clips", type=int, default=None, help="only the first N clips with a reference text")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--warmup", type=int, default=5, help="--device cuda: untimed calls per shape")
    parser.add_argument("--iters", type=int, default=20, help="--device cuda: timed calls per shape")
    parser.add_argument("--out", default=None, help="default benchmarks/results/whisper_dynamic[_gpu].json")
    args = parser.parse_args(argv)
    cuda = args.device == "cuda"
    out = Path(args.out or REPO / "benchmarks" / "results" / f"whisper_dynamic{'_gpu' if cuda else ''}.json")
    torch.set_num_threads(os.cpu_count() or 1)
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32
        torch.backends.cudnn.allow_tf32 = False
        device = f"{torch.cuda.get_device_name()} (capability {'.'.join(map(str, torch.cuda.get_device_capability()))})"
    else:
        device = f"CPU ({os.cpu_count()} cores, {platform.machine()}, shared with other jobs)"
    results = {
        "meta": {
            "command": "python3 benchmarks/" + Path(__file__).name + " " + shlex.join(argv or sys.argv[1:]),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "device": f"{device}, torch {torch.__version__}",
        }
    }
    if cuda:
        results["meta"]["notes"] = [
            "our PyTorch model with random weights of each model's dimensions (seed 0): time does not depend on "
            "the weight values",
            f"median of {args.iters} CUDA-event timings after {args.warmup} warm-up calls per shape; fp32 with TF32 off",
        ]
    for model_name in args.models.split(","):
        results[model_name] = (
            run_cuda(model_name, args.warmup, args.iters) if cuda else run(model_name, args.reference_clips, args.clips)
        )
        out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
