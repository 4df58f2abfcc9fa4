"""Dynamic encoder length (models.whisper.dynamic) against the 30 s window: WER, agreement and encoder time (CPU).

    python3 benchmarks/whisper_dynamic.py [--models tiny.en,base] [--reference-clips 3] [--clips N]
                                          [--out benchmarks/results/whisper_dynamic.json]

On the flite clips (the 29 s clip included; greedy, no timestamps, language en): WER of each mode, how many
transcripts are identical, and the encoder time per clip (PyTorch on CPU, median; each clip's two modes are
timed back to back, so a busy machine slows both alike). The reference executor's encoder (fp32 networks) is
timed on the first --reference-clips clips: it is a numeric oracle, so its ratio says how much arithmetic is
saved, not what a TensorRT engine would gain.
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
from models.whisper.audio import load_audio  # noqa: E402
from models.whisper.decoding import TorchRunner  # noqa: E402
from models.whisper.dynamic import DynamicReferenceRunner, DynamicTorchRunner, trim  # noqa: E402
from models.whisper.long_form import TranscribeOptions, transcribe_files, whole_mel, window  # noqa: E402
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="tiny.en,base")
    parser.add_argument("--reference-clips", type=int, default=3)
    parser.add_argument("--clips", type=int, default=None, help="only the first N clips with a reference text")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "whisper_dynamic.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(os.cpu_count() or 1)
    results = {
        "meta": {
            "command": "python3 benchmarks/" + Path(__file__).name + " " + shlex.join(argv or sys.argv[1:]),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "device": f"CPU ({os.cpu_count()} cores, {platform.machine()}, shared with other jobs), "
            f"torch {torch.__version__}",
        }
    }
    for model_name in args.models.split(","):
        results[model_name] = run(model_name, args.reference_clips, args.clips)
        Path(args.out).write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
