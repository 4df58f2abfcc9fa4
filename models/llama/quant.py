"""Quantized variants of a LLaMA model for the networks: int8 key/value-cache scales and the SmoothQuant groups."""

import torch

from .prompts import PROMPTS


def calibration_ids(tokenizer):
    """Token ids of the project's prompts (chat ones through the template): calibration data that is not the
    perplexity text."""
    return [tokenizer.encode(tokenizer.chat(p["text"]) if p["chat"] else p["text"]) for p in PROMPTS]


def run_prompts(token_lists):
    """``run(model)`` for trt_helper.quant.calibrate: the model on each prompt alone (no padding)."""

    def run(model):
        with torch.no_grad():
            for ids in token_lists:
                model(torch.tensor([ids]))

    return run


def kv_cache_scales(model, token_lists):
    """Per-layer int8 scales (num_layers, 2) of the key / value cache: absmax / 127 of each layer's keys (after
    RoPE, as cached) and values over ``token_lists``."""
    amax = torch.zeros(model.config.num_hidden_layers, 2)

    def hook(index):
        def record(module, args, out):
            amax[index] = torch.maximum(amax[index], torch.stack([out[1].abs().amax(), out[2].abs().amax()]).float())

        return record

    handles = [layer.self_attn.register_forward_hook(hook(i)) for i, layer in enumerate(model.model.layers)]
    try:
        run_prompts(token_lists)(model)
    finally:
        for handle in handles:
            handle.remove()
    return amax.clamp(min=1e-8) / 127


def smoothquant_groups(model):
    """(source path, [linears it feeds]) of every decoder layer for trt_helper.quant.smoothquant: the two RMSNorms,
    and up_proj for down_proj (SwiGLU's product is linear in up_proj's output)."""
    groups = []
    for i in range(model.config.num_hidden_layers):
        layer = f"model.layers.{i}"
        groups.append((f"{layer}.input_layernorm", [f"{layer}.self_attn.{p}_proj" for p in "qkv"]))
        groups.append((f"{layer}.post_attention_layernorm", [f"{layer}.mlp.{p}_proj" for p in ("gate", "up")]))
        groups.append((f"{layer}.mlp.up_proj", [f"{layer}.mlp.down_proj"]))  # down(silu(gate) · up): linear in up
    return groups
