"""WER and agreement of our Whisper port against its peers on the fixture clips (CPU), with the real tiny.en weights.

    python3 benchmarks/whisper_wer.py [--out benchmarks/results/whisper_wer.json] [--skip-reference]

Systems, all greedy without timestamps on the same 16 kHz samples:
- ours-torch: our PyTorch model, transcribe-style mel padding, no-speech gate (the default of `infer.sh whisper`);
- ours-reference-fp32 / -fp16: the TensorRT networks evaluated by trt_helper's reference executor (numeric
  oracle; its wall time is NOT a TensorRT latency);
- hf-generate: transformers' own WhisperFeatureExtractor + generate (audio padding, no no-speech gate), and
  ours-torch-audio-padding, our model with the same front-end convention;
- faster-whisper: beam 1, temperature 0 only, no timestamps, VAD off, float32.
WER is jiwer over whisper-normalizer's EnglishTextNormalizer on the clips that have a reference text.
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from models.whisper.audio import load_audio  # noqa: E402
from models.whisper.decoding import TorchRunner, transcribe  # noqa: E402
from models.whisper.networks import DTYPES, ReferenceRunner  # noqa: E402
from models.whisper.peers import faster_whisper_model, faster_whisper_text, hf_model, word_error_rate  # noqa: E402
from models.whisper.tokenizer import WhisperTokenizer  # noqa: E402
from models.whisper.weights import default_model_path, load_checkpoint, load_model  # noqa: E402

DATA = REPO / "tests" / "data" / "whisper"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "whisper_wer.json"))
    parser.add_argument("--skip-reference", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(os.cpu_count() or 1)
    path = Path(args.model) if args.model else default_model_path()
    model = load_model(path)
    tokenizer = WhisperTokenizer(path / "tokenizer.json")
    clips = json.loads((DATA / "manifest.json").read_text())
    names = [c["file"] for c in clips]
    audio = {n: load_audio(DATA / n) for n in names}
    texts, seconds = {}, {}

    def run(system, fn):
        start = time.perf_counter()
        texts[system] = fn()
        seconds[system] = round(time.perf_counter() - start, 1)
        print(f"{system}: {seconds[system]} s", flush=True)

    def ours(runner, padding="mel", gate=True):
        kwargs = {} if gate else {"no_speech_threshold": None}
        return [r["text"] for r in transcribe(runner, tokenizer, [audio[n] for n in names], padding=padding, **kwargs)]

    run("ours-torch", lambda: ours(TorchRunner(model)))
    if not args.skip_reference:
        for precision in ("fp32", "fp16"):
            run(f"ours-reference-{precision}", lambda: ours(ReferenceRunner(model, DTYPES[precision])))
    run("ours-torch-audio-padding", lambda: ours(TorchRunner(model), padding="audio", gate=False))

    from transformers import WhisperFeatureExtractor

    from models.whisper.peers import hf_generate

    hf = hf_model(*load_checkpoint(path)[:2])
    extractor = WhisperFeatureExtractor()

    def hf_texts():
        out = []
        for n in names:
            mel = torch.from_numpy(extractor(audio[n], sampling_rate=16000, return_tensors="np").input_features)
            out.append(tokenizer.decode(hf_generate(hf, tokenizer, mel)[0]).strip())
        return out

    run("hf-generate", hf_texts)
    fw = faster_whisper_model(path)
    run("faster-whisper", lambda: [faster_whisper_text(fw, audio[n]) for n in names])

    with_text = [i for i, c in enumerate(clips) if c["text"]]
    references = [clips[i]["text"] for i in with_text]
    table = []
    for system, hyps in texts.items():
        table.append(
            {
                "system": system,
                "wer_percent": round(word_error_rate(references, [hyps[i] for i in with_text]), 2),
                "identical_to_faster_whisper": sum(a == b for a, b in zip(hyps, texts["faster-whisper"])),
                "identical_to_ours_torch": sum(a == b for a, b in zip(hyps, texts["ours-torch"])),
                "clips": len(names),
                "cpu_wall_seconds": seconds[system],
            }
        )
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]),
        "device": f"CPU ({os.cpu_count()} cores, {platform.machine()}), torch {torch.__version__}",
        "model": str(path),
        "wer_clips": len(with_text),
        "table": table,
        "transcripts": {n: {s: texts[s][i] for s in texts} for i, n in enumerate(names)},
        "references": {c["file"]: c["text"] for c in clips},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print("| system | WER % | identical to faster-whisper | identical to ours-torch | CPU wall s |")
    print("|---|---|---|---|---|")
    for row in table:
        print(
            f"| {row['system']} | {row['wer_percent']:.2f} | {row['identical_to_faster_whisper']}/{row['clips']} | "
            f"{row['identical_to_ours_torch']}/{row['clips']} | {row['cpu_wall_seconds']} |"
        )


if __name__ == "__main__":
    main()
