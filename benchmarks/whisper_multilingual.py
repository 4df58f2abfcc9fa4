"""Our Whisper decoding (greedy, beam, language detection, long-form) against faster-whisper on the same weights (CPU).

    python3 benchmarks/whisper_multilingual.py [--models tiny.en,base] [--sections english,language,longform,tone]
                                               [--out benchmarks/results/whisper_multilingual.json]

Sections:
- english: the 33 flite clips, no timestamps, temperature 0 only, greedy and beam 5 (patience 1, length penalty 1):
  ours (PyTorch model) vs faster-whisper 1.2.1 float32: identical text count, WER (jiwer + EnglishTextNormalizer).
- language: base on the espeak-ng de/fr/es clips and the flite clips: detected language and the largest
  |P_ours - P_fw| over the 99 language probabilities; espeak-ng transcripts and translations, greedy, vs the peer.
- longform: flite sentences joined with 0.5 s gaps (>= 60 s), timestamps, condition_on_previous_text, greedy,
  temperature fallback off: ours `--long-audio sequential` vs faster-whisper; WER and segment start/end gaps.
- tone: a 3 s 440 Hz sine: text with and without temperature fallback, ours and faster-whisper (its sampling is
  seeded differently, so only whether the loop ends is comparable).
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from models.whisper.audio import SAMPLE_RATE, load_audio  # noqa: E402
from models.whisper.decoding import Runner, TorchRunner  # noqa: E402
from models.whisper.fallback import DEFAULT_TEMPERATURES, FallbackOptions  # noqa: E402
from models.whisper.language import language_probs  # noqa: E402
from models.whisper.long_form import TranscribeOptions, detection_window, transcribe_files, whole_mel  # noqa: E402
from models.whisper.peers import faster_whisper_model, word_error_rate  # noqa: E402
from models.whisper.search import SearchOptions  # noqa: E402
from models.whisper.sources import resolve_model  # noqa: E402
from models.whisper.tokenizer import WhisperTokenizer  # noqa: E402
from models.whisper.weights import load_model  # noqa: E402

DATA = REPO / "tests" / "data" / "whisper"


class ContextCache(Runner):
    """A runner whose audio contexts are memoised per mel row (the same clip decoded with several options)."""

    def __init__(self, runner):
        self.runner, self.use_cache, self.name = runner, runner.use_cache, runner.name
        self.cache = {}

    def audio_context(self, mel):
        keys = [hashlib.sha1(row.numpy().tobytes()).hexdigest() for row in mel]
        missing = [i for i, k in enumerate(keys) if k not in self.cache]
        if missing:
            context = self.runner.audio_context(mel[missing])
            for j, i in enumerate(missing):
                self.cache[keys[i]] = tuple(t[:, j : j + 1] for t in context)
        parts = [self.cache[k] for k in keys]
        return tuple(torch.cat([p[i] for p in parts], dim=1) for i in range(len(parts[0])))

    def prefix(self, context, tokens):
        return self.runner.prefix(context, tokens)

    def step(self, context, tokens, cache):
        return self.runner.step(context, tokens, cache)


def fw_text(model, samples, **kwargs):
    options = dict(
        beam_size=1,
        best_of=5,
        temperature=[0.0],
        without_timestamps=True,
        vad_filter=False,
        condition_on_previous_text=True,
    )
    options.update(kwargs)
    segments, info = model.transcribe(samples, **options)
    segments = list(segments)
    return "".join(s.text for s in segments).strip(), segments, info


def english(model_name, results, part=None):
    path = resolve_model(model_name)
    runner = ContextCache(TorchRunner(load_model(path)))
    tokenizer = WhisperTokenizer(path / "tokenizer.json")
    fw = faster_whisper_model(path)
    clips = json.loads((DATA / "manifest.json").read_text())
    if part:
        start, end = (int(x) for x in part.split(":"))
        clips = clips[start:end]
    audio = {c["file"]: load_audio(DATA / c["file"]) for c in clips}
    rows = {}
    for beam in (1, 5):
        options = TranscribeOptions(language="en", search=SearchOptions(beam_size=beam))
        start = time.perf_counter()
        ours = transcribe_files(runner, tokenizer, [audio[c["file"]] for c in clips], options, batch_size=8)
        ours_s = time.perf_counter() - start
        start = time.perf_counter()
        peer = [fw_text(fw, audio[c["file"]], beam_size=beam, language="en")[0] for c in clips]
        peer_s = time.perf_counter() - start
        texts = [r["text"] for r in ours]
        with_ref = [i for i, c in enumerate(clips) if c["text"]]
        refs = [clips[i]["text"] for i in with_ref]
        row = {
            "identical": sum(a == b for a, b in zip(texts, peer)),
            "clips": len(clips),
            "texts": {c["file"]: [a, b, c["text"]] for c, a, b in zip(clips, texts, peer)},
            "wer_ours": round(word_error_rate(refs, [texts[i] for i in with_ref]), 2),
            "wer_faster_whisper": round(word_error_rate(refs, [peer[i] for i in with_ref]), 2),
            "seconds_ours_torch_cpu": round(ours_s, 1),
            "seconds_faster_whisper_cpu": round(peer_s, 1),
            "differing": {clips[i]["file"]: [texts[i], peer[i]] for i in range(len(clips)) if texts[i] != peer[i]},
        }
        rows[f"beam{beam}"] = row
        print(model_name, f"beam {beam}:", {k: v for k, v in row.items() if k != "differing"}, flush=True)
    results.setdefault("english", {})[model_name] = rows


def merge_english(paths, results):
    """Combine english-section results of clip slices (--clips) into one row per model and search."""
    merged = {}
    for path in paths:
        for model_name, rows in json.loads(Path(path).read_text())["english"].items():
            for search, row in rows.items():
                merged.setdefault(model_name, {}).setdefault(search, {}).update(row["texts"])
    for model_name, rows in merged.items():
        for search, texts in rows.items():
            files = sorted(texts)
            with_ref = [f for f in files if texts[f][2]]
            row = {
                "clips": len(files),
                "identical": sum(texts[f][0] == texts[f][1] for f in files),
                "wer_ours": round(word_error_rate([texts[f][2] for f in with_ref], [texts[f][0] for f in with_ref]), 2),
                "wer_faster_whisper": round(
                    word_error_rate([texts[f][2] for f in with_ref], [texts[f][1] for f in with_ref]), 2
                ),
                "merged_from": [str(p) for p in paths],
                "texts": texts,
            }
            results.setdefault("english", {}).setdefault(model_name, {})[search] = row
            print(model_name, search, {k: v for k, v in row.items() if k != "texts"})


def language(results):
    path = resolve_model("base")
    runner = ContextCache(TorchRunner(load_model(path)))
    tokenizer = WhisperTokenizer(path / "tokenizer.json")
    fw = faster_whisper_model(path)
    espeak = json.loads((DATA / "espeak" / "manifest.json").read_text())
    flite = [c for c in json.loads((DATA / "manifest.json").read_text()) if c["kind"] == "sentence"][:8]
    files = [(DATA / "espeak" / c["file"], c.get("language")) for c in espeak] + [
        (DATA / c["file"], "en") for c in flite
    ]
    detection, codes = [], list(tokenizer.languages)
    for file, spoken in files:
        samples = load_audio(file)
        mel = whole_mel(samples)
        probs = language_probs(runner, tokenizer, runner.audio_context(detection_window(mel)))[0]
        ours = dict(zip(codes, probs.tolist()))
        code, probability, all_probs = fw.detect_language(audio=samples)
        peer = dict(all_probs)
        best = max(ours, key=ours.get)
        detection.append(
            {
                "file": file.name,
                "spoken": spoken,
                "ours": [best, round(ours[best], 4)],
                "faster_whisper": [code, round(probability, 4)],
                "max_abs_prob_diff": round(max(abs(ours[c] - peer[c]) for c in codes), 5),
            }
        )
        print(detection[-1], flush=True)
    transcripts = []
    for task in ("transcribe", "translate"):
        options = TranscribeOptions(task=task)
        ours = transcribe_files(runner, tokenizer, [DATA / "espeak" / c["file"] for c in espeak], options)
        for clip, result in zip(espeak, ours):
            peer = fw_text(fw, load_audio(DATA / "espeak" / clip["file"]), task=task)[0]
            transcripts.append(
                {
                    "file": clip["file"],
                    "task": task,
                    "language": result["language"],
                    "ours": result["text"],
                    "faster_whisper": peer,
                    "identical": result["text"] == peer,
                }
            )
            print(transcripts[-1], flush=True)
    results["language"] = {
        "detection": detection,
        "espeak_transcripts": transcripts,
        "same_language": sum(d["ours"][0] == d["faster_whisper"][0] for d in detection),
        "clips": len(detection),
        "max_abs_prob_diff": max(d["max_abs_prob_diff"] for d in detection),
    }


def long_audio():
    """Flite sentences joined with 0.5 s gaps until >= 60 s: (samples, reference text)."""
    clips = [c for c in json.loads((DATA / "manifest.json").read_text()) if c["kind"] == "sentence"]
    gap = np.zeros(SAMPLE_RATE // 2, np.float32)
    parts, texts = [], []
    for clip in clips:
        parts += [load_audio(DATA / clip["file"]), gap]
        texts.append(clip["text"])
        if sum(len(p) for p in parts) >= 75 * SAMPLE_RATE:
            break
    return np.concatenate(parts), " ".join(texts)


def longform(model_name, results, beams):
    path = resolve_model(model_name)
    runner = TorchRunner(load_model(path))
    tokenizer = WhisperTokenizer(path / "tokenizer.json")
    fw = faster_whisper_model(path)
    samples, reference = long_audio()
    rows = results.setdefault("longform", {}).setdefault(model_name, {})
    for beam in beams:
        options = TranscribeOptions(
            language="en", long_audio="sequential", search=SearchOptions(beam_size=beam, timestamps=True)
        )
        start = time.perf_counter()
        ours = transcribe_files(runner, tokenizer, [samples], options)[0]
        seconds = time.perf_counter() - start
        peer_text, peer_segments, _ = fw_text(fw, samples, beam_size=beam, language="en", without_timestamps=False)
        pairs = list(zip(ours["segments"], peer_segments))
        rows[f"beam{beam}"] = {
            "duration_s": round(len(samples) / SAMPLE_RATE, 2),
            "segments_ours": len(ours["segments"]),
            "segments_faster_whisper": len(peer_segments),
            "wer_ours": round(word_error_rate([reference], [ours["text"]]), 2),
            "wer_faster_whisper": round(word_error_rate([reference], [peer_text]), 2),
            "text_identical": ours["text"] == peer_text,
            "max_start_gap_s": round(max(abs(a["start"] - b.start) for a, b in pairs), 3),
            "max_end_gap_s": round(max(abs(a["end"] - b.end) for a, b in pairs), 3),
            "seconds_ours_torch_cpu": round(seconds, 1),
            "segments": [[a["start"], a["end"], b.start, b.end] for a, b in pairs],
        }
        print(
            model_name,
            f"long-form beam {beam}:",
            {k: v for k, v in rows[f"beam{beam}"].items() if k != "segments"},
            flush=True,
        )


def tone(results):
    path = resolve_model("base")
    runner = TorchRunner(load_model(path))
    tokenizer = WhisperTokenizer(path / "tokenizer.json")
    fw = faster_whisper_model(path)
    t = np.arange(3 * SAMPLE_RATE) / SAMPLE_RATE
    samples = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    rows = {}
    for name, temperatures in (("no_fallback", (0.0,)), ("fallback", DEFAULT_TEMPERATURES)):
        options = TranscribeOptions(language="en", fallback=FallbackOptions(temperatures=temperatures))
        ours = transcribe_files(runner, tokenizer, [samples], options)[0]
        peer = fw_text(fw, samples, language="en", temperature=list(temperatures))[0]
        rows[name] = {
            "ours": ours["text"],
            "ours_temperature": ours.get("temperature"),
            "ours_compression_ratio": ours.get("compression_ratio"),
            "faster_whisper": peer,
        }
        print("tone", name, rows[name], flush=True)
    results["tone"] = rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="tiny.en,base")
    parser.add_argument("--sections", default="english,language,longform,tone")
    parser.add_argument("--longform-beams", default="1,5")
    parser.add_argument("--merge-english", default=None, help="comma list of JSON files from --clips runs")
    parser.add_argument("--clips", default=None, help="START:END, a slice of the flite clips (english section)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "whisper_multilingual.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(os.cpu_count() or 1)
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.is_file() else {}
    runs = results.get("meta", [])
    run = {
        "command": "python3 benchmarks/" + Path(__file__).name + " " + shlex.join(argv or sys.argv[1:]),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "device": f"CPU ({os.cpu_count()} cores, {platform.machine()}, shared with other jobs), "
        f"torch {torch.__version__}",
        "faster_whisper": __import__("faster_whisper").__version__,
    }
    results["meta"] = (runs if isinstance(runs, list) else [runs]) + [run]
    if args.merge_english:
        merge_english(args.merge_english.split(","), results)
        out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
        return
    sections = args.sections.split(",")
    for section in sections:
        if section == "english":
            for model_name in args.models.split(","):
                english(model_name, results, args.clips)
        elif section == "language":
            language(results)
        elif section == "longform":
            for model_name in args.models.split(","):
                longform(model_name, results, [int(b) for b in args.longform_beams.split(",")])
        elif section == "tone":
            tone(results)
        else:
            raise SystemExit(f"unknown section {section}")
        out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
