"""SmolLM2-135M parity figures on CPU: our PyTorch model and the prefill/decode networks (reference executor, fp32
and fp16) against transformers loading the same GGUF; writes benchmarks/results/llama_parity_cpu.json.

    PYTHONPATH=. python3 benchmarks/llama_parity.py [--reference-prompts 8] [--out FILE.json]

Logits: rel err = max|diff| / max|value| over the prompt (PyTorch model) or the last prompt position (networks) and
then 8 greedy decode steps fed the peer's tokens. Greedy: 32 new tokens vs the peer's recorded ones
(tests/data/llama/peer_greedy.json), prompts in left-padded batches of 8. Perplexity of
tests/data/llama/perplexity_text.txt (written for the project) in one pass.
"""

import argparse
import copy
import datetime
import functools
import json
import platform
import sys
import time
from pathlib import Path

import torch
import transformers

from models.llama.generate import Sampling, TorchRunner, generate
from models.llama.networks import DTYPES, Profile, ReferenceRunner, network
from models.llama.peers import hf_peer
from models.llama.weights import load, smollm2_path
from trt_helper import rel_error

FIXTURES = Path(__file__).parents[1] / "tests" / "data" / "llama" / "peer_greedy.json"
TEXT = FIXTURES.parent / "perplexity_text.txt"
PROFILE = Profile(max_batch=8, opt_batch=1, max_prompt=128, opt_prompt=16, max_length=192)
LOGIT_PROMPTS = [("What is the capital of France?", True)]


def peer_steps(peer, ids, steps):
    """The peer's prompt logits (T, V) and the logits of `steps` greedy continuations (its own argmax tokens)."""
    prompt = peer(ids).logits[0]
    tokens, logits = ids, [prompt[-1]]
    for _ in range(steps):
        tokens = torch.cat([tokens, logits[-1].argmax()[None, None]], 1)
        logits.append(peer(tokens).logits[0, -1])
    return prompt, torch.stack(logits[1:]), tokens[:, ids.shape[1] :]


def logits_figures(model, tokenizer, peer, runners, steps=8):
    rows = []
    for text, chat in LOGIT_PROMPTS:
        ids = torch.tensor([tokenizer.encode(tokenizer.chat(text) if chat else text)])
        want_prompt, want_steps, new = peer_steps(peer, ids, steps)
        row = {"prompt": text, "chat": chat, "tokens": ids.shape[1]}
        logits, k, v = model(ids)
        row["torch_prompt"] = rel_error(logits[0], want_prompt)
        cache = (k, v)
        errors = []
        for step in range(steps):
            logits, *cache = model(new[:, step : step + 1], *cache)
            errors.append(rel_error(logits[0, -1], want_steps[step]))
        row["torch_steps_max"] = max(errors)
        pad = torch.zeros(1, dtype=torch.int64)
        for precision, runner in runners.items():
            logits, cache = runner.prefill(ids, pad)
            row[f"reference_{precision}_last_prompt"] = rel_error(logits[0], want_prompt[-1])
            errors = []
            for step in range(steps):
                logits, cache = runner.step(new[:, step : step + 1], pad, cache)
                errors.append(rel_error(logits[0], want_steps[step]))
            row[f"reference_{precision}_steps_max"] = max(errors)
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def perplexity(logits, ids):
    """exp(mean negative log-likelihood) of ids[1:] under logits (T, V) of ids (T,)."""
    nll = torch.nn.functional.cross_entropy(logits[:-1].double(), ids[1:], reduction="mean")
    return float(nll.exp())


def perplexity_figures(model, tokenizer, peer, tokens=None):
    """Perplexity of the project's fixed text (its first ``tokens`` tokens): the peer, our PyTorch model, the
    fp32/fp16 prefill networks."""
    ids = torch.tensor(tokenizer.encode(TEXT.read_text())[:tokens])
    profile = Profile(max_batch=1, max_prompt=len(ids), opt_prompt=len(ids), max_length=len(ids) + 1)
    values = {
        "tokens": len(ids),
        "peer": perplexity(peer(ids[None]).logits[0], ids),
        "torch_fp32": perplexity(model(ids[None])[0][0], ids),
    }
    for precision, dtype in (("fp32", torch.float32), ("fp16", torch.float16)):
        helper = network(model, "prefill", dtype, profile, logits="all")
        out = helper.reference({"input_ids": ids[None].int(), "pad": torch.zeros(1, dtype=torch.int32)})
        values[f"reference_{precision}"] = perplexity(out["logits"][0], ids)
    values["relative_to_peer"] = {k: v / values["peer"] - 1 for k, v in values.items() if k not in ("tokens", "peer")}
    print(json.dumps(values), flush=True)
    return values


def greedy_figures(runner, records, eos, max_new_tokens, compared=None):
    """Greedy tokens of the fixture prompts (batches of 8) vs the peer's, over the first ``compared`` tokens."""
    compared = compared or max_new_tokens
    got = []
    for start in range(0, len(records), 8):
        got += generate(runner, [r["ids"] for r in records[start : start + 8]], eos, Sampling(compared))
    same = [g == r["peer_tokens"][:compared] for g, r in zip(got, records)]
    return {
        "prompts": len(records),
        "identical": sum(same),
        "differing": [r["text"] for r, s in zip(records, same) if not s],
        "tokens": got,
    }


SECTIONS = (
    "logits",
    "perplexity",
    "greedy_torch",
    "greedy_reference",
    "perplexity_quantized",
    "perplexity_quantized_torch",
    "greedy_quantized",
)


@functools.cache
def smollm2_q4_1(config):
    """The GGUF's Q4_1 blocks (read once: reading them takes seconds)."""
    from models.llama.quant import q4_1_weights

    return q4_1_weights(smollm2_path(), config)


@functools.cache
def awq_variant(model, tokenizer, name, group_size, asymmetric=False):
    """(scaled model, int4 weights) of AWQ: "awq" (scales and clipping, q/k not clipped as llm-awq),
    "awq-clipqk" (q/k clipped too), "awq-scale" (scales alone), "clip" (clipping alone); asymmetric blocks or not."""
    from models.llama.quant import awq_groups, calibration_ids, run_prompts
    from trt_helper.quant import awq_quantize

    layers = range(model.config.num_hidden_layers)
    no_clip = [f"model.layers.{i}.self_attn.{p}_proj" for i in layers for p in "qk"] if name == "awq" else ()
    scaled, quantized, _ = awq_quantize(
        model,
        run_prompts(calibration_ids(tokenizer)),
        () if name == "clip" else awq_groups(model),
        4,
        group_size,
        clip=name != "awq-scale",
        no_clip=no_clip,
        asymmetric=asymmetric,
    )
    return scaled, quantized


def gptq_variant(model, tokenizer, name, bits, group_size):
    """{linear: weight} of "gptq" (symmetric) / "gptqa" (asymmetric blocks), "-seq" for sequential stages, "-act"
    for act_order, "-doc"
    for calibration on the prompts plus the project's READMEs; int4 in blocks of ``group_size`` where it divides K
    (else 64), int8 per output channel."""
    from models.llama.quant import calibration_ids, document_calibration_ids, gptq_stages, group_sizes, run_prompts
    from trt_helper.quant import gptq_quantize

    flags = name.split("-")[1:]
    sizes = group_sizes(model, group_size) if bits == 4 else None
    stages = gptq_stages(model) if "seq" in flags else None
    run = run_prompts(document_calibration_ids(tokenizer) if "doc" in flags else calibration_ids(tokenizer))
    return gptq_quantize(model, run, bits, sizes, name.startswith("gptqa"), stages, act_order="act" in flags)


def variant_options(variant, model, tokenizer):
    """(model, network options) of a quantized variant: "fp", "int8" (weight-only, per output channel), "int4:G"
    (weight-only, blocks of G along K; SmolLM2's K = 576 takes 32 or 64, not 128), "awq:G", "awq-clipqk:G",
    "awq-scale:G", "clip:G" (int4 from :func:`awq_variant`; "awqa", "clipa": asymmetric blocks of G, or 64 where G
    does not divide K), "int4a:G" (asymmetric round-to-nearest, G or 64), "gptq[a][-seq][-act][-doc]:G" and "gptq8[-seq][-act][-doc]" (from
    :func:`gptq_variant`), "kv-int8" (int8 cache, per-layer scales),
    "smoothquant[:alpha]" (W8A8 on a smoothed copy), "q4_1" (the GGUF's Q4_1 blocks as int4 + block offsets).
    Calibration (AWQ, kv-int8, smoothquant) runs on the project's prompts, not on the perplexity text."""
    from models.llama.quant import calibration_ids, group_sizes, kv_cache_scales, run_prompts, smoothquant_groups
    from trt_helper.quant import quantize_weight
    from trt_helper.quant.smoothquant import smoothquant

    name, _, arg = variant.partition(":")
    if name in ("fp", "int8", "int4"):
        return model, {"weights": name, "group_size": int(arg) if arg else None}
    if name in ("awq", "awq-clipqk", "awq-scale", "clip"):
        scaled, quantized = awq_variant(model, tokenizer, name, int(arg or 64))
        return scaled, {"weights": "int4", "group_size": int(arg or 64), "quantized": quantized}
    if name in ("awqa", "clipa"):
        if int(arg or 64) != 64:  # awq_quantize takes one group size; SmolLM2's K = 576 takes 64 or 32
            raise SystemExit(f"variant {variant!r}: asymmetric AWQ/clipping on SmolLM2 takes G = 64 (K = 576)")
        scaled, quantized = awq_variant(model, tokenizer, name.removesuffix("a"), 64, asymmetric=True)
        return scaled, {"quantized": quantized}
    if name == "int4a":
        sizes = group_sizes(model, int(arg or 64))
        linears = {p: m for p, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
        return model, {"quantized": {p: quantize_weight(m.weight, 4, sizes[p], p, True) for p, m in linears.items()}}
    if name.startswith("gptq"):
        bits = 8 if name.startswith("gptq8") else 4
        return model, {"quantized": gptq_variant(model, tokenizer, name, bits, int(arg or 128))}
    if name == "kv-int8":
        return model, {"kv_scales": kv_cache_scales(model, calibration_ids(tokenizer))}
    if name == "smoothquant":
        run = run_prompts(calibration_ids(tokenizer))
        smoothed, quantized = smoothquant(model, run, smoothquant_groups(model), float(arg or 0.5))
        return smoothed, {"quantized": quantized}
    if name == "q4_1":
        return model, {"quantized": smollm2_q4_1(model.config)}
    raise SystemExit(f"unknown variant {variant!r}")


def quantized_perplexity_figures(model, tokenizer, tokens=None, variants=("fp", "int8", "int4:64")):
    """Perplexity of the fixed text through prefill networks of each variant (see :func:`variant_options`), fp16
    unless the variant ends in "@fp32"; relative to the fp network of the same precision."""
    ids = torch.tensor(tokenizer.encode(TEXT.read_text())[:tokens])
    profile = Profile(max_batch=1, max_prompt=len(ids), opt_prompt=len(ids), max_length=len(ids) + 1)
    values = {"tokens": len(ids)}
    for variant in variants:
        name, _, precision = variant.partition("@")
        precision = precision or "fp16"
        variant_model, options = variant_options(name, model, tokenizer)
        if "kv_scales" in options:
            values["kv_scales"] = options["kv_scales"].tolist()
        helper = network(variant_model, "prefill", DTYPES[precision], profile, logits="all", **options)
        out = helper.reference({"input_ids": ids[None].int(), "pad": torch.zeros(1, dtype=torch.int32)})
        values[f"{precision}_{name}"] = perplexity(out["logits"][0], ids)
        print(variant, values[f"{precision}_{name}"], flush=True)
    values["relative_to_fp"] = {
        k: v / values[f"{k.split('_')[0]}_fp"] - 1
        for k, v in values.items()
        if k.startswith("fp") and f"{k.split('_')[0]}_fp" in values
    }
    return values


def quantized_torch_perplexity_figures(model, tokenizer, tokens=None, variants=("fp", "int4:64", "awq:64")):
    """Perplexity of the fixed text through our fp32 PyTorch model with each variant's weights (dequantized, as
    trt_helper.quant.fake_quantized, the tied token table as the networks quantize it; int8 cache through
    set_kv_scales), relative to "fp"."""
    from trt_helper.quant import fake_quantized, quantize_linears

    ids = torch.tensor(tokenizer.encode(TEXT.read_text())[:tokens])
    values = {"tokens": len(ids)}
    for variant in variants:
        variant_model, options = variant_options(variant, model, tokenizer)
        quantized = options.get("quantized") or {}
        if options.get("weights", "fp") != "fp":  # what the network quantizes itself: the rest, tied table included
            bits = 8 if options["weights"] == "int8" else 4
            tables = ("model.embed_tokens",) if variant_model.lm_head is None else ()
            quantized = {**quantize_linears(variant_model, bits, options["group_size"], tables), **quantized}
        variant_model = fake_quantized(variant_model, quantized) if quantized else variant_model
        if "kv_scales" in options:
            variant_model = copy.deepcopy(variant_model)
            variant_model.set_kv_scales(options["kv_scales"])
        values[variant] = perplexity(variant_model(ids[None])[0][0], ids)
        print(variant, values[variant], flush=True)
    if "fp" in values:
        values["relative_to_fp"] = {k: values[k] / values["fp"] - 1 for k in variants}
    return values


def quantized_greedy_figures(model, tokenizer, records, max_new, compared, variants):
    """Greedy tokens of the first fixture prompts (one left-padded batch) through the decode path of each variant's
    networks (fp16 unless "@fp32"), against the peer's and the first variant's tokens."""
    values = {}
    for variant in variants:
        name, _, precision = variant.partition("@")
        variant_model, options = variant_options(name, model, tokenizer)
        runner = ReferenceRunner(variant_model, DTYPES[precision or "fp16"], PROFILE, **options)
        row = greedy_figures(runner, records, tokenizer.eos_token_id, max_new, compared)
        first = values[variants[0]]["tokens"] if values else row["tokens"]
        row["identical_to_" + variants[0]] = sum(a == b for a, b in zip(row["tokens"], first))
        values[variant] = row
        print(variant, row["identical"], row["identical_to_" + variants[0]], flush=True)
    return values


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma list of {', '.join(SECTIONS)}")
    parser.add_argument("--reference-prompts", type=int, default=4, help="fixture prompts run through the networks")
    parser.add_argument(
        "--reference-tokens",
        type=int,
        default=None,
        help="new tokens compared through the networks (default: the fixtures' 32)",
    )
    parser.add_argument("--perplexity-tokens", type=int, default=None, help="first N tokens of the text (default all)")
    parser.add_argument(
        "--variants",
        default="fp,int8,int4:64,int4:32,kv-int8,smoothquant,q4_1,fp@fp32,q4_1@fp32",
        help="perplexity_quantized: fp, int8, int4:G, kv-int8, smoothquant[:alpha], q4_1, each with @fp32 or fp16",
    )
    parser.add_argument("--greedy-variants", default="fp,kv-int8,q4_1", help="greedy_quantized: as --variants")
    parser.add_argument("--torch-variants", default="fp,int4:64,clip:64,awq:64", help="perplexity_quantized_torch")
    parser.add_argument("--out", default="benchmarks/results/llama_parity_cpu.json")
    parser.add_argument(
        "--merge", action="store_true", help="keep the other sections of --out; this run's meta as meta_<sections>"
    )
    args = parser.parse_args(argv)
    sections = [name.strip() for name in args.sections.split(",") if name.strip()]
    torch.set_grad_enabled(False)
    start = time.time()
    model, tokenizer = load()
    peer = hf_peer(smollm2_path())[0] if {"logits", "perplexity"} & set(sections) else None
    fixtures = json.loads(FIXTURES.read_text()) if FIXTURES.is_file() else None
    records, max_new = (fixtures["prompts"], fixtures["meta"]["max_new_tokens"]) if fixtures else (None, None)
    precisions = {"fp32": torch.float32, "fp16": torch.float16}
    result = {}
    if "logits" in sections:
        runners = {p: ReferenceRunner(model, d, PROFILE) for p, d in precisions.items()}
        result["logits"] = logits_figures(model, tokenizer, peer, runners)
    if "perplexity" in sections:
        result["perplexity"] = perplexity_figures(model, tokenizer, peer, args.perplexity_tokens)
    if "perplexity_quantized" in sections:
        result["perplexity_quantized"] = quantized_perplexity_figures(
            model, tokenizer, args.perplexity_tokens, args.variants.split(",")
        )
    if "perplexity_quantized_torch" in sections:
        result["perplexity_quantized_torch"] = quantized_torch_perplexity_figures(
            model, tokenizer, args.perplexity_tokens, args.torch_variants.split(",")
        )
    if "greedy_quantized" in sections:
        result["greedy_quantized"] = quantized_greedy_figures(
            model,
            tokenizer,
            records[: args.reference_prompts],
            max_new,
            args.reference_tokens,
            args.greedy_variants.split(","),
        )
    if "greedy_torch" in sections:
        result["greedy_torch_fp32"] = greedy_figures(TorchRunner(model), records, tokenizer.eos_token_id, max_new)
        print("torch", result["greedy_torch_fp32"]["identical"], flush=True)
    if "greedy_reference" in sections:
        subset = records[: args.reference_prompts]
        for precision, dtype in precisions.items():
            runner = ReferenceRunner(model, dtype, PROFILE)
            result[f"greedy_reference_{precision}"] = greedy_figures(
                runner, subset, tokenizer.eos_token_id, max_new, args.reference_tokens
            )
            print(precision, result[f"greedy_reference_{precision}"]["identical"], flush=True)
        fp32, fp16 = result["greedy_reference_fp32"]["tokens"], result["greedy_reference_fp16"]["tokens"]
        result["fp16_vs_fp32_identical"] = sum(a == b for a, b in zip(fp16, fp32))
    meta = {
        "device": f"CPU ({platform.machine()}, 2 cores shared with other jobs), "
        + ("our PyTorch model" if sections == ["perplexity_quantized_torch"] else "reference executor"),
        "command": "PYTHONPATH=. python3 benchmarks/llama_parity.py " + " ".join(argv or sys.argv[1:]),
        "date": datetime.date.today().isoformat(),
        "peer": f"transformers {transformers.__version__} float32",
        "seconds": round(time.time() - start),
    }
    out = Path(args.out)
    if args.merge and out.is_file():
        result = {**json.loads(out.read_text()), **result, f"meta_{'+'.join(sections)}": meta}
    else:
        result["meta"] = meta
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
