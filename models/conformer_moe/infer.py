"""Run a conformer-MoE plan: ``python -m models.conformer_moe.infer PLAN [options]``.

Runs the plan with ``trt_helper.Engine`` where a TensorRT runtime and a GPU it supports exist; otherwise
(always on CPU machines, and on compute capability 9.0 with TensorRT-RTX) it rebuilds the same network from
the plan's ``.json`` sidecar and evaluates it with the reference executor. It always says which one ran.
The reference executor is a numeric oracle, not a runtime: its timings mean nothing for TensorRT.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import torch

from .build import load_model, make_helper
from .network import Profile


def read_sidecar(plan: str) -> dict:
    """The build settings written next to ``plan``."""
    try:
        with open(plan + ".json") as f:
            return json.load(f)
    except FileNotFoundError:
        raise SystemExit(
            f"conformer_moe.infer: {plan}.json not found; build plans with "
            "`python -m models.conformer_moe.build` (it writes the sidecar)"
        ) from None


def load_features(args, input_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """feat (B,T,F) float32 and feat_len (B,) int32 from --feat or random (--batch, --frames, --seed)."""
    if args.feat:
        feat = torch.from_numpy(np.load(args.feat)).float()
        feat = feat.unsqueeze(0) if feat.dim() == 2 else feat
    else:
        feat = torch.randn(args.batch, args.frames, input_dim, generator=torch.Generator().manual_seed(args.seed))
    if feat.dim() != 3 or feat.shape[2] != input_dim:
        raise SystemExit(
            f"conformer_moe.infer: features must be (T, {input_dim}) or (B, T, {input_dim}), got {tuple(feat.shape)}"
        )
    lengths = args.lengths or [feat.shape[1]] * feat.shape[0]
    if len(lengths) != feat.shape[0]:
        raise SystemExit(f"conformer_moe.infer: {len(lengths)} lengths for a batch of {feat.shape[0]}")
    return feat, torch.tensor(lengths, dtype=torch.int32)


def run_engine(plan: str, feat, feat_len):
    """Outputs from a TensorRT engine, or (None, reason) where none can run here."""
    if not torch.cuda.is_available():
        return None, "no CUDA GPU visible"
    try:
        from trt_helper import Engine

        outputs = Engine(plan)(feat=feat, feat_len=feat_len)
        return {k: v.cpu() for k, v in outputs.items()}, f"TensorRT engine on {torch.cuda.get_device_name()}"
    except (RuntimeError, ImportError) as error:
        return None, str(error)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.conformer_moe.infer", description=__doc__.splitlines()[0])
    parser.add_argument("plan")
    parser.add_argument("--feat", help=".npy features (T,F) or (B,T,F), CMVN-normalised; default random")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--frames", type=int, default=206)
    parser.add_argument("--lengths", type=int, nargs="+", help="valid frames per utterance (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random features")
    parser.add_argument("--runner", default="auto", choices=["auto", "engine", "reference"])
    parser.add_argument("--check", action="store_true", help="also run the PyTorch model and print the error")
    parser.add_argument("--out", help="write logits and out_len to this .npz")
    args = parser.parse_args(argv)

    meta = read_sidecar(args.plan)
    model = load_model(meta["config"], meta["seed"], meta["weights"])
    feat, feat_len = load_features(args, model.config.input_dim)

    outputs, ran = (
        (None, "reference runner requested") if args.runner == "reference" else run_engine(args.plan, feat, feat_len)
    )
    if outputs is None:
        if args.runner == "engine":
            raise SystemExit(f"conformer_moe.infer: no TensorRT engine can run here: {ran}")
        with torch.no_grad():
            helper = make_helper(model, meta["precision"], Profile.parse(meta["profile"]), meta["impl"])
        outputs = helper.reference({"feat": feat, "feat_len": feat_len})
        ran = f"reference executor (PyTorch on CPU; not a TensorRT runtime) — engine not used: {ran}"
    logits, out_len = outputs["logits"], outputs["out_len"]
    print(f"ran: {ran}")
    print(f"plan: {args.plan} ({meta['config']}, {meta['precision']})")
    print(
        f"logits {tuple(logits.shape)}, out_len {out_len.tolist()}, "
        f"sum over valid frames {sum(float(logits[b, :n].sum()) for b, n in enumerate(out_len.tolist())):.6g}"
    )
    if args.check:
        with torch.no_grad():
            expected, expected_len = model(feat, feat_len)
        worst = max(
            float((logits[b, :n] - expected[b, :n]).abs().max() / expected[b, :n].abs().max())
            for b, n in enumerate(expected_len.tolist())
        )
        print(
            f"check vs PyTorch fp32: out_len equal {torch.equal(out_len, expected_len)}, "
            f"max|diff|/max|ref| over valid frames {worst:.3e}"
        )
    if args.out:
        np.savez(args.out, logits=logits.numpy(), out_len=out_len.numpy())
    return 0


if __name__ == "__main__":
    sys.exit(main())
