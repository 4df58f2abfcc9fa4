"""Build conformer-MoE ``.plan`` files: ``python -m models.conformer_moe.build [options]``.

With no options: the ``small`` and ``litleo-18l`` configs, fp32 and fp16, random weights (seed 0), into
``plans/conformer_moe.<config>.<precision>.plan``, one report line per plan. Each plan gets a ``.json``
sidecar (config, precision, seed, weights, profile, impl) that ``models.conformer_moe.infer`` reads to
rebuild the same network for the reference executor.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time

import torch

from trt_helper import sidecar

from .config import CONFIGS, get_config
from .encoder import build_model
from .network import PRECISIONS, Profile, define_network
from .weights import load_3m_asr_state_dict

DEFAULT_CONFIGS = ("small", "litleo-18l")


def plan_path(outdir: str, config: str, precision: str) -> str:
    """Where a plan of ``config`` at ``precision`` goes."""
    return os.path.join(outdir, f"conformer_moe.{config}.{precision}.plan")


def make_helper(model, precision: str, profile: Profile = Profile(), impl: str = "auto"):
    """A NetworkHelper holding the encoder network at ``precision`` (``fp32`` | ``fp16``)."""
    from trt_helper import NetworkHelper

    if precision not in PRECISIONS:
        raise ValueError(f"conformer_moe.build: precision must be one of {sorted(PRECISIONS)}, got {precision!r}")
    helper = NetworkHelper(PRECISIONS[precision], name=f"conformer_moe_{model.config.name}", impl=impl)
    define_network(helper, model, profile)
    return helper


def load_model(config: str, seed: int = 0, weights: str | None = None):
    """The PyTorch encoder: random with ``seed``, or with a 3m-asr/WeNet checkpoint's weights."""
    model = build_model(get_config(config), seed=seed)
    if weights:
        load_3m_asr_state_dict(model, weights)
    return model


def in_plan_dtype(model, precision: str):
    """``model`` with its weights converted in place to the plan's dtype, so the network reads them without a cast
    copy (the weights are held once, not in fp32 and fp16)."""
    return model.to(PRECISIONS[precision])


def build_one(
    config: str,
    precision: str,
    outdir: str,
    seed: int = 0,
    weights: str | None = None,
    profile: Profile = Profile(),
    impl: str = "auto",
    targets=None,
    model=None,
    strip_weights: bool = False,
):
    """Build one plan and write its sidecar; returns the BuildReport. Without ``model`` the weights are loaded
    straight into the plan's dtype; a given ``model`` is left as it is (the network casts a copy)."""
    model = model if model is not None else in_plan_dtype(load_model(config, seed, weights), precision)
    with torch.no_grad():
        helper = make_helper(model, precision, profile, impl)
    path = plan_path(outdir, config, precision)
    report = helper.build(path, targets=targets, strip_weights=strip_weights)
    del helper, model
    gc.collect()  # the network and its TensorRT objects go before the next plan is built
    extra = {
        "model": "conformer_moe",
        "config": config,
        "precision": precision,
        "seed": seed,
        "weights": os.path.abspath(weights) if weights else None,
        "profile": str(profile),
        "impl": impl,
        "build_s": round(report.seconds, 2),
        "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    sidecar.update(path, extra)  # next to the I/O and profiles the builder wrote
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.conformer_moe.build", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config",
        nargs="+",
        default=list(DEFAULT_CONFIGS),
        choices=sorted(CONFIGS),
        help="configs to build (default: small litleo-18l)",
    )
    parser.add_argument("--precision", nargs="+", default=["fp32", "fp16"], choices=sorted(PRECISIONS))
    parser.add_argument("--weights", help="3m-asr/WeNet checkpoint (torch.save state dict); default: random weights")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    parser.add_argument("--outdir", default="plans")
    parser.add_argument(
        "--profile", type=Profile.parse, default=Profile(), help="min:opt:max as BxT each (default 1x7:1x206:6x6100)"
    )
    parser.add_argument(
        "--impl",
        default="auto",
        choices=["auto", "native", "plugin"],
        help="plugin or native layers for ops that have both (auto: plugin where possible)",
    )
    parser.add_argument("--targets", nargs="+", help="TensorRT-RTX compute capabilities (default SM86 SM89 SM120)")
    parser.add_argument(
        "--strip-weights",
        action="store_true",
        help="weight-stripped plans, refitted at load from the checkpoint (Engine(refit_from=...))",
    )
    args = parser.parse_args(argv)
    if args.weights and len(args.config) != 1:
        parser.error("--weights belongs to one config; pass a single --config")
    widest_first = sorted(args.precision, key=lambda p: -PRECISIONS[p].itemsize)
    for config in args.config:
        model = load_model(config, args.seed, args.weights)
        for precision in widest_first:  # fp32 then fp16: the model is converted once, in place, between them
            report = build_one(
                config,
                precision,
                args.outdir,
                args.seed,
                args.weights,
                args.profile,
                args.impl,
                args.targets,
                model=in_plan_dtype(model, precision),
                strip_weights=args.strip_weights,
            )
            print(f"conformer_moe {config} {precision}: {report}", flush=True)
        del model
        gc.collect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
