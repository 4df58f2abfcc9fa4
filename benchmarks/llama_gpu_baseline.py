"""PyTorch baseline generation speed of SmolLM2-135M (config only) on a GPU: the bar a TensorRT engine must beat.

Our PyTorch model (models/llama) and Hugging Face's LlamaForCausalLM (the peer, when transformers is importable)
hold the SAME random weights of SmolLM2-135M's config (30 layers, d 576, 9/3 heads, vocab 49152, tied head): the
98 MB GGUF cannot travel to the GPU machine and its fp16 weights (270 MB) are over the 64 MiB carry limit, and speed
does not depend on the values. fp16, random 128-token prompts, batch 1 and 8, 128 new tokens greedily (a fixed
count: no eos stop), eager and torch.compile (each decoder layer compiled with dynamic shapes, so all 30 layers
share one graph per phase: prefill and one-token decode; compile time reported apart). Ours: prefill + 127 cached
steps with its explicit (concatenated) cache; the peer: ``generate`` with its DynamicCache. Wall time of the whole
generation after a warm-up (median of ``--iters``), tokens/s = batch · 128 / time.

    python3 benchmarks/llama_gpu_baseline.py --out $OUT/llama_gpu.json [--budget-s 100]

Runs on CPU too (``--tiny``: a 2-layer config) to check the script; only GPU figures are baselines. Results are
written after every measurement, so a run stopped by its time budget keeps what it measured.
"""

import argparse
import datetime
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from models.llama.config import LlamaConfig
from models.llama.model import LlamaForCausalLM

SMOLLM2 = dict(
    vocab_size=49152,
    hidden_size=576,
    intermediate_size=1536,
    num_hidden_layers=30,
    num_attention_heads=9,
    num_key_value_heads=3,
    head_dim=64,
    rope_theta=100000.0,
    rms_norm_eps=1e-5,
    max_position_embeddings=8192,
    tie_word_embeddings=True,
)
TINY = {**SMOLLM2, "num_hidden_layers": 2, "vocab_size": 512}


def models(fields, device, dtype):
    """(ours, the transformers peer or None) with the same random weights."""
    torch.manual_seed(0)
    ours = LlamaForCausalLM(LlamaConfig(**fields))
    try:
        import transformers
    except ImportError:
        peer = None
        for p in ours.parameters():
            torch.nn.init.normal_(p, std=0.02)
    else:
        config = transformers.LlamaConfig(**fields, bos_token_id=1, eos_token_id=2, pad_token_id=2)
        peer = transformers.LlamaForCausalLM(config).eval()
        state = {k: v for k, v in peer.state_dict().items() if k != "lm_head.weight"}
        ours.load_state_dict(state)
        peer = peer.to(device, dtype)
    return ours.eval().to(device, dtype), peer


def ours_generate(model, ids, new_tokens):
    logits, k, v = model(ids)
    tokens = [logits[:, -1].argmax(-1, keepdim=True)]
    for _ in range(new_tokens - 1):
        logits, k, v = model(tokens[-1], k, v)
        tokens.append(logits[:, -1].argmax(-1, keepdim=True))
    return torch.cat(tokens, 1)


def peer_generate(peer, ids, new_tokens):
    out = peer.generate(
        ids,
        attention_mask=torch.ones_like(ids),
        max_new_tokens=new_tokens,
        min_new_tokens=new_tokens,
        do_sample=False,
        pad_token_id=2,
    )
    return out[:, ids.shape[1] :]


def seconds(fn, device):
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, out


def compile_layers(layers):
    for layer in layers:
        layer.compile(dynamic=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/llama_gpu.json")
    parser.add_argument("--prompt", type=int, default=128)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--batches", default="1,8")
    parser.add_argument("--iters", type=int, default=2)
    parser.add_argument("--budget-s", type=float, default=100.0, help="skip what is left after this many seconds")
    parser.add_argument("--tiny", action="store_true", help="a 2-layer config (to check the script on CPU)")
    args = parser.parse_args(argv)
    begin = time.perf_counter()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.float16 if device == "cuda" else torch.float32
    torch.set_grad_enabled(False)
    ours, peer = models(TINY if args.tiny else SMOLLM2, device, dtype)
    result = {
        "meta": {
            "device": torch.cuda.get_device_name() if device == "cuda" else f"CPU ({platform.machine()})",
            "torch": torch.__version__,
            "transformers": None if peer is None else sys.modules["transformers"].__version__,
            "dtype": str(dtype),
            "config": "tiny (2 layers)" if args.tiny else "SmolLM2-135M, random weights (same in both models)",
            "prompt_tokens": args.prompt,
            "new_tokens": args.new_tokens,
            "command": "python3 benchmarks/llama_gpu_baseline.py " + " ".join(sys.argv[1:] if argv is None else argv),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        },
        "runs": [],
    }
    out = Path(args.out)
    runs = [("ours", "eager"), ("peer", "eager"), ("ours", "compile"), ("peer", "compile")]
    tokens = {}
    for system, mode in runs:
        if system == "peer" and peer is None:
            result["runs"].append({"system": system, "skipped": "transformers is not importable"})
            continue
        model = ours if system == "ours" else peer
        generate = ours_generate if system == "ours" else peer_generate
        compile_s = None
        if mode == "compile":
            compile_layers(model.model.layers)
        for batch in (int(b) for b in args.batches.split(",")):
            row = {"system": system, "mode": mode, "batch": batch}
            if time.perf_counter() - begin > args.budget_s:
                row["skipped"] = f"time budget of {args.budget_s} s spent"
                result["runs"].append(row)
                continue
            ids = torch.randint(
                3, model.config.vocab_size, (batch, args.prompt), generator=torch.Generator().manual_seed(1)
            )
            ids = ids.to(device)
            try:
                warm, first = seconds(lambda: generate(model, ids, args.new_tokens), device)
                times = [seconds(lambda: generate(model, ids, args.new_tokens), device)[0] for _ in range(args.iters)]
            except Exception as error:  # a compile failure is a result to report, not a crash
                row["error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
                result["runs"].append(row)
                continue
            median = statistics.median(times)
            row.update(
                seconds=round(median, 4),
                tokens_per_s=round(batch * args.new_tokens / median, 1),
                ms_per_step=round(1e3 * median / args.new_tokens, 3),
                first_call_s=round(warm, 2),
                times_s=[round(t, 4) for t in times],
            )
            tokens[(system, mode, batch)] = first.cpu()
            if system == "peer" and ("ours", mode, batch) in tokens:
                row["same_tokens_as_ours"] = float((first.cpu() == tokens[("ours", mode, batch)]).float().mean())
            if compile_s is None and mode == "compile":
                compile_s = row["compile_and_first_call_s"] = round(warm, 2)
            result["runs"].append(row)
            print(json.dumps(row), flush=True)
            out.write_text(json.dumps(result, indent=1) + "\n")
    result["meta"]["seconds"] = round(time.perf_counter() - begin, 1)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
