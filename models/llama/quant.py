"""Quantized variants of a LLaMA model for the networks: int8 key/value-cache scales, the SmoothQuant and AWQ groups,
and llama.cpp's Q4_1 blocks as int4 weights with block offsets (exact: the network computes the GGUF's weights)."""

from pathlib import Path

import numpy as np
import torch

from trt_helper.quant import QuantizedWeight

from .prompts import PROMPTS
from .weights import WeightError, gguf_tensor_name, unpermute_qk

Q4_1_BLOCK = 32


def calibration_ids(tokenizer):
    """Token ids of the project's prompts (chat ones through the template): calibration data that is not the
    perplexity text."""
    return [tokenizer.encode(tokenizer.chat(p["text"]) if p["chat"] else p["text"]) for p in PROMPTS]


def document_calibration_ids(tokenizer, max_tokens=8192, chunk=256):
    """:func:`calibration_ids` plus the project's README files (the repository's top README, then models/ and
    trt_helper/ ones, sorted) in ``chunk``-token pieces, up to ``max_tokens`` more: enough rows for a GPTQ Hessian
    (K up to 1536), none from the perplexity text."""
    root = Path(__file__).parents[2]
    paths = [root / "README.md", *sorted(root.glob("models/*/README.md")), *sorted(root.glob("trt_helper/*/README.md"))]
    ids = [token for path in paths for token in tokenizer.encode(path.read_text())][:max_tokens]
    return calibration_ids(tokenizer) + [ids[start : start + chunk] for start in range(0, len(ids), chunk)]


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


def awq_groups(model):
    """trt_helper.quant.awq_quantize's groups of every decoder layer: q/k/v scored on the attention and folded into
    input_layernorm, gate/up scored on the MLP and folded into post_attention_layernorm, down_proj folded into
    up_proj's rows; o_proj multiplies its input at run time (with GQA, v_proj's rows cannot take its scale)."""
    groups = []
    for i in range(model.config.num_hidden_layers):
        layer = f"model.layers.{i}"
        attn, mlp = f"{layer}.self_attn", f"{layer}.mlp"
        groups.append((attn, [f"{attn}.{p}_proj" for p in "qkv"], f"{layer}.input_layernorm"))
        groups.append((f"{attn}.o_proj", [f"{attn}.o_proj"]))
        groups.append((mlp, [f"{mlp}.gate_proj", f"{mlp}.up_proj"], f"{layer}.post_attention_layernorm"))
        groups.append((f"{mlp}.down_proj", [f"{mlp}.down_proj"], f"{mlp}.up_proj"))
    return groups


def q4_1_blocks(data, rows):
    """(q (rows, K) uint8 in [0, 15], d (rows, K/32) float32, m (rows, K/32) float32) of Q4_1 bytes (rows, 20·K/32):
    fp16 d, fp16 m, then 16 bytes whose low nibbles are elements 0–15 and high nibbles 16–31; w = d·q + m."""
    blocks = np.ascontiguousarray(data).reshape(rows, -1, 20)
    d = blocks[..., 0:2].copy().view(np.float16)[..., 0].astype(np.float32)
    m = blocks[..., 2:4].copy().view(np.float16)[..., 0].astype(np.float32)
    nibbles = blocks[..., 4:]
    q = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=-1).reshape(rows, -1)
    return q, d, m


def q4_1_weights(path, config):
    """{linear path: QuantizedWeight} of every Q4_1 matrix of a llama GGUF, exactly: int4 values q − 8, block
    scales d (block 32 along K) and block offsets m + 8·d, so values · d + offset = d·q + m (llama.cpp's
    dequantization). The Q/K rows are un-permuted like the float weights."""
    import gguf

    weights = {}
    for tensor in gguf.GGUFReader(str(path)).tensors:
        name = gguf_tensor_name(tensor.name, path)
        if not name.endswith("_proj.weight"):
            continue
        if tensor.tensor_type != gguf.GGMLQuantizationType.Q4_1:
            raise WeightError(f"{path}: {tensor.name} is {tensor.tensor_type.name}, not Q4_1")
        rows = int(tensor.shape[1])
        q, d, m = (torch.from_numpy(a) for a in q4_1_blocks(tensor.data, rows))
        if name.endswith(("q_proj.weight", "k_proj.weight")):
            heads = config.num_attention_heads if "q_proj" in name else config.num_key_value_heads
            q, d, m = (unpermute_qk(t, heads) for t in (q, d, m))
        weights[name.removesuffix(".weight")] = QuantizedWeight(
            (q.to(torch.int16) - 8).to(torch.int8), d, 4, Q4_1_BLOCK, offsets=m + 8 * d
        )
    return weights


def group_sizes(model, size):
    """{linear path: ``size`` where it divides the linear's K, else 64}: SmolLM2's K = 576 takes no g128 (down_proj's
    K = 1536 does)."""
    return {
        path: size if module.in_features % size == 0 else 64
        for path, module in model.named_modules()
        if isinstance(module, torch.nn.Linear)
    }


def gptq_stages(model):
    """Sequential GPTQ's stages, in the order the decoder computes them: per layer q/k/v, o_proj, gate/up, down_proj."""
    stages = []
    for i in range(model.config.num_hidden_layers):
        attn, mlp = f"model.layers.{i}.self_attn", f"model.layers.{i}.mlp"
        stages += [[f"{attn}.{p}_proj" for p in "qkv"], [f"{attn}.o_proj"], [f"{mlp}.gate_proj", f"{mlp}.up_proj"]]
        stages.append([f"{mlp}.down_proj"])
    return stages
