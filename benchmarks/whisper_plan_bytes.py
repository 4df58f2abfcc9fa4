"""Where a Whisper plan's bytes go: weights by kind vs everything else, fp16 / int8 / int4 networks (CPU, AOT).

    python3 benchmarks/whisper_plan_bytes.py [--networks encoder,decoder] [--variants fp16,int8,int4-g128] [--out FILE]

Builds each network (TensorRT-RTX AOT SM86/SM89/SM120, as build.sh) and splits its plan into the bytes its weights
need at their stored precision — linear weights, the tied token table, conv weights, positional tables, norms,
biases, dequantize scales (fp16) — and the rest, found by subtraction. The rest is measured twice more: the printable
text in the plan (``strings -n 6``: TensorRT-RTX embeds the CUDA C++ source of its fused kernels, compiled on the
target GPU at load) and a one-layer network (``x + 1``) for the fixed part. Weight copies are checked by searching
the plan for a row and a column of each linear weight and of the table (each must appear exactly once).
"""

import argparse
import datetime
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import trt_helper  # noqa: E402
from models.whisper.networks import all_networks  # noqa: E402
from models.whisper.quantized import TIED_TABLES  # noqa: E402
from models.whisper.weights import default_model_path, load_model  # noqa: E402
from trt_helper.backend import get_backend  # noqa: E402
from trt_helper.quant import quantize_linears  # noqa: E402

VARIANTS = {"fp16": (None, None), "int8": (8, None), "int8-g64": (8, 64), "int4-g128": (4, 128)}
#: parameters each network holds (the decoder's cross-attention key/value projections live in cross_kv)
HOLDS = {
    "encoder": lambda p: p.startswith("encoder."),
    "cross_kv": lambda p: ".cross_attn.key." in p or ".cross_attn.value." in p,
    "decoder": lambda p: p.startswith("decoder.") and ".cross_attn.key." not in p and ".cross_attn.value." not in p,
}


def kind(model, name):
    owner = model.get_submodule(name.rsplit(".", 1)[0])
    if isinstance(owner, nn.Embedding):
        return "token table"
    if "positional" in name:
        return "positional tables"
    if isinstance(owner, nn.LayerNorm):
        return "norms"
    if name.endswith(".bias"):
        return "biases"
    return {nn.Linear: "linear weights", nn.Conv1d: "conv weights"}[type(owner)]


def weight_bytes(model, network, bits, group_size):
    """{kind: bytes} the network's weights take stored at their precision (quantized: values + fp16 scales)."""
    quantized = {} if bits is None else quantize_linears(model, bits, group_size, TIED_TABLES)
    holds = HOLDS["decoder" if network == "decoder_step" else network]
    out = {}
    for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        if not holds(name):
            continue
        qw = quantized.get(name.rsplit(".", 1)[0]) if name.endswith(".weight") else None
        what = kind(model, name)
        out[what] = out.get(what, 0) + (tensor.numel() * 2 if qw is None else qw.values.numel() * qw.bits // 8)
        if qw is not None:
            out["scales"] = out.get("scales", 0) + qw.scales.numel() * 2
    return out


def copies(plan, model, bits, group_size):
    """How many times a row and a column of every linear weight and the table occur in the plan, as found."""
    found = set()
    quantized = {} if bits is None else quantize_linears(model, bits, group_size, TIED_TABLES)
    for path, module in model.named_modules():
        if not isinstance(module, (nn.Linear, nn.Embedding)):
            continue
        qw = quantized.get(path)
        w = module.weight.detach().half() if qw is None else qw.values  # int4 is packed: not searched
        if qw is not None and qw.bits == 4:
            continue
        row, col = w[w.shape[0] // 2, :32], w[:32, w.shape[1] // 2].contiguous()
        hits = plan.count(row.numpy().tobytes()) + plan.count(col.numpy().tobytes())
        if hits:
            found.add(hits)
    return sorted(found)


def fixed_bytes(tmp):
    helper = trt_helper.NetworkHelper(torch.float16, name="tiny")
    x = helper.addInput("x", torch.float16, (-1, 384), min_shape=(1, 384), opt_shape=(1, 384), max_shape=(8, 384))
    helper.markOutput(helper.addAdd(x, 1.0), "y")
    return helper.build(tmp / "tiny.plan").plan_bytes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", default="encoder,decoder")
    parser.add_argument("--variants", default="fp16,int8,int4-g128")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "whisper_plan_bytes.json"))
    args = parser.parse_args(argv)
    model = load_model(default_model_path())
    tmp = Path(tempfile.mkdtemp())
    report = {"fixed_one_layer_plan": fixed_bytes(tmp), "plans": {}}
    for network in args.networks.split(","):
        for variant in args.variants.split(","):
            bits, group_size = VARIANTS[variant]
            options = {} if bits is None else {"weights": f"int{bits}", "group_size": group_size}
            helper = all_networks(model, torch.float16, names=[network], **options)[network]
            path = tmp / f"{network}_{variant}.plan"
            built = helper.build(path)
            weights = weight_bytes(model, network, bits, group_size)
            text = subprocess.run(["strings", "-n", "6", str(path)], capture_output=True, check=True).stdout
            row = {
                "plan": built.plan_bytes,
                "layers": built.layers,
                "weights": weights,
                "weights_total": sum(weights.values()),
                "rest": built.plan_bytes - sum(weights.values()),
                "text": len(text),
                "copies_found": copies(path.read_bytes(), model, bits, group_size),
            }
            report["plans"][f"{network} {variant}"] = row
            print(f"{network} {variant}: {row}", flush=True)
            path.unlink()
    report.update(
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        command=" ".join([Path(sys.executable).name, *sys.argv]),
        backend=f"tensorrt_rtx {get_backend().version}, AOT SM86/SM89/SM120",
    )
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
