"""The independent peer: Hugging Face transformers loading the same GGUF file offline (its own dequantization, Q/K
un-permutation and tokenizer conversion) as a float32 LlamaForCausalLM. Needs transformers and accelerate."""

from pathlib import Path

import torch


def hf_peer(path):
    """(model float32 eval, tokenizer) from a .gguf file, via ``from_pretrained(dir, gguf_file=name)``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(path)
    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32)
    return model.eval(), tokenizer


@torch.no_grad()
def hf_greedy(model, prompts, max_new_tokens, eos_token_id):
    """transformers' greedy ``generate`` of a batch of prompts (token-id lists, left padded with an attention
    mask); each row's new tokens without eos."""
    length = max(len(p) for p in prompts)
    ids = torch.tensor([[eos_token_id] * (length - len(p)) + list(p) for p in prompts])
    mask = torch.tensor([[0] * (length - len(p)) + [1] * len(p) for p in prompts])
    out = model.generate(
        ids,
        attention_mask=mask,
        max_new_tokens=max_new_tokens,
        do_sample=False,
        eos_token_id=eos_token_id,
        pad_token_id=eos_token_id,
    )
    rows = out[:, length:].tolist()
    return [row[: row.index(eos_token_id)] if eos_token_id in row else row for row in rows]
