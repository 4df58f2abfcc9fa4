"""Write trtexec input files for a conformer-MoE plan and print the trtexec line.

    python3 benchmarks/generate_trtexec_inputs.py B T F [--lengths L1 ... LB] [--outdir DIR]

writes ``feat.BxTxF.bin`` (float32 (B,T,F), standard normal, like CMVN-normalised fbank) and
``feat_len.BxTxF.bin`` (int32 (B,), default all T) as raw little-endian arrays, the format
``trtexec --loadInputs`` reads (as LitLeo/3m-asr-inference ``data/generate_trtexec_inputs.py`` did).
"""

from __future__ import annotations

import argparse
import os

import numpy as np


def write_inputs(
    batch: int, frames: int, feat_dim: int, outdir: str = ".", lengths=None, seed: int = 0
) -> tuple[str, str]:
    """Write the two files; returns their paths (feat, feat_len)."""
    lengths = [frames] * batch if lengths is None else list(lengths)
    if len(lengths) != batch or not all(1 <= n <= frames for n in lengths):
        raise ValueError(f"generate_trtexec_inputs: need {batch} lengths in [1, {frames}], got {lengths}")
    os.makedirs(outdir, exist_ok=True)
    tag = f"{batch}x{frames}x{feat_dim}"
    feat_path = os.path.join(outdir, f"feat.{tag}.bin")
    len_path = os.path.join(outdir, f"feat_len.{tag}.bin")
    rng = np.random.default_rng(seed)
    rng.standard_normal((batch, frames, feat_dim), dtype=np.float32).astype("<f4").tofile(feat_path)
    np.asarray(lengths, dtype="<i4").tofile(len_path)
    return feat_path, len_path


def trtexec_line(
    plan: str, batch: int, frames: int, feat_dim: int, feat_path: str, len_path: str, plugins: str | None = None
) -> str:
    """The trtexec command that runs ``plan`` on these files."""
    line = (
        f"trtexec --loadEngine={plan} --shapes=feat:{batch}x{frames}x{feat_dim},feat_len:{batch} "
        f"--loadInputs=feat:{feat_path},feat_len:{len_path}"
    )
    return line + (f" --plugins={plugins}" if plugins else "")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("batch", type=int)
    parser.add_argument("frames", type=int)
    parser.add_argument("feat_dim", type=int)
    parser.add_argument("--lengths", type=int, nargs="+")
    parser.add_argument("--outdir", default=".")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plan", default="plans/conformer_moe.litleo-18l.fp16.plan")
    parser.add_argument("--plugins", help="path of libtrtplugin++.so, for plans built with plugin layers")
    args = parser.parse_args(argv)
    feat_path, len_path = write_inputs(args.batch, args.frames, args.feat_dim, args.outdir, args.lengths, args.seed)
    print(trtexec_line(args.plan, args.batch, args.frames, args.feat_dim, feat_path, len_path, args.plugins))


if __name__ == "__main__":
    main()
