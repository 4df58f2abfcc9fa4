"""Record the peer's greedy continuations of the project's prompts (tests/data/llama/peer_greedy.json).

    python3 -m models.llama.make_fixtures [--gguf PATH] [--max-new-tokens 32] [--out tests/data/llama/peer_greedy.json]

Token ids come from the peer's own tokenizer (transformers' GGUF conversion); the peer is transformers'
LlamaForCausalLM loaded from the same GGUF file, float32 on CPU, greedy ``generate`` on batches of --batch prompts
(left padded with an attention mask).
"""

import argparse
import datetime
import json
import platform
from pathlib import Path

import torch
import transformers

from .peers import hf_greedy, hf_peer
from .prompts import PROMPTS
from .weights import smollm2_path


def prompt_ids(tokenizer, prompt):
    """The peer tokenizer's ids of a prompt (through its chat template when ``chat``)."""
    if prompt["chat"]:
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt["text"]}], tokenize=False, add_generation_prompt=True
        )
    else:
        text = prompt["text"]
    return tokenizer(text, add_special_tokens=False).input_ids


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m models.llama.make_fixtures", description=__doc__.splitlines()[0])
    parser.add_argument("--gguf", default=None)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8, help="prompts per generate call (left padded)")
    parser.add_argument("--out", default="tests/data/llama/peer_greedy.json")
    args = parser.parse_args(argv)
    path = Path(args.gguf) if args.gguf else smollm2_path()
    torch.set_grad_enabled(False)
    model, tokenizer = hf_peer(path)
    records = []
    for start in range(0, len(PROMPTS), args.batch):
        group = PROMPTS[start : start + args.batch]
        ids = [prompt_ids(tokenizer, prompt) for prompt in group]
        for prompt, row, tokens in zip(group, ids, hf_greedy(model, ids, args.max_new_tokens, tokenizer.eos_token_id)):
            records.append({**prompt, "ids": row, "peer_tokens": tokens, "peer_text": tokenizer.decode(tokens)})
            print(json.dumps(records[-1]["peer_text"]), flush=True)
    meta = {
        "peer": f"transformers {transformers.__version__} LlamaForCausalLM float32 greedy generate, CPU, "
        f"batches of {args.batch} left padded",
        "weights": path.name,
        "max_new_tokens": args.max_new_tokens,
        "eos_token_id": tokenizer.eos_token_id,
        "date": datetime.date.today().isoformat(),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    Path(args.out).write_text(json.dumps({"meta": meta, "prompts": records}, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
