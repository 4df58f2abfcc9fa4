"""A LLaMA-architecture decoder as PyTorch modules with Hugging Face's parameter names (so a transformers
LlamaForCausalLM state dict loads as is), each with a ``trt_forward`` whose signature matches ``forward``.

The key/value cache is explicit: every layer's keys and values travel as two stacked tensors
(num_layers, B, num_kv_heads, S, head_dim) that ``forward`` returns grown by the new tokens, the same tensors the
TensorRT networks take and give. Rows of a batch may be left-padded: ``pad`` (B,) int32 counts each row's padding
tokens; those positions are never attended to and positions restart at 0 after them.
"""

import torch
import torch.nn.functional as F
from torch import nn

from .config import LlamaConfig


class RMSNorm(nn.RMSNorm):
    """Hugging Face's LlamaRMSNorm: normalised in float32, cast back, then times the weight."""

    def forward(self, x):
        normalised = F.rms_norm(x.float(), self.normalized_shape, None, self.eps)
        return normalised.to(x.dtype) * self.weight.to(x.dtype)

    def trt_forward(self, helper, x):
        return helper.addRMSNorm(self, x)  # statistics in fp32 inside fp16 networks (fp32 islands)


class RotaryEmbedding(nn.Module):
    """Positions → the (cos, sin) tables of the default RoPE, (…, T, head_dim)."""

    def __init__(self, config):
        super().__init__()
        self.register_buffer("inv_freq", config.inv_freq(), persistent=False)

    def forward(self, positions, dtype):
        angles = positions[..., None].float() * self.inv_freq
        angles = torch.cat([angles, angles], dim=-1)
        return angles.cos().to(dtype), angles.sin().to(dtype)

    def trt_forward(self, helper, positions, dtype):
        return helper.addRotaryTables(positions, self.inv_freq, dtype)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def fake_int8(x, scale):
    """``x`` through an int8 cache entry with per-tensor ``scale``: round half to even, clamp to [-128, 127], times
    ``scale`` (TensorRT's quantize then dequantize)."""
    return ((x.float() / scale).round().clamp(-128, 127) * scale).to(x.dtype)


class Attention(nn.Module):
    """Causal grouped-query self-attention with RoPE on queries and keys.

    ``kv_scales``: None (the cache in the compute dtype) or this layer's per-tensor (key, value) scales of an int8
    cache: new keys/values are quantized when written and every key/value is dequantized when read, so the
    attention sees cached values only (set through :meth:`LlamaForCausalLM.set_kv_scales`)."""

    kv_scales = None

    def __init__(self, config):
        super().__init__()
        self.heads, self.kv_heads = config.num_attention_heads, config.num_key_value_heads
        self.head_dim = config.head_dim
        bias = config.attention_bias
        self.q_proj = nn.Linear(config.hidden_size, self.heads * self.head_dim, bias=bias)
        self.k_proj = nn.Linear(config.hidden_size, self.kv_heads * self.head_dim, bias=bias)
        self.v_proj = nn.Linear(config.hidden_size, self.kv_heads * self.head_dim, bias=bias)
        self.o_proj = nn.Linear(self.heads * self.head_dim, config.hidden_size, bias=bias)

    def forward(self, x, cos, sin, mask, past_k=None, past_v=None):
        """x (B, T, D); cos/sin (B, 1, T, head_dim); mask (B, 1, T, S) bool, True = visible; past (B, Hkv, P, dh).
        Returns the output (B, T, D) and the grown keys/values (B, Hkv, P + T, dh)."""
        batch, length, _ = x.shape
        q = self.q_proj(x).view(batch, length, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(batch, length, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(batch, length, self.kv_heads, self.head_dim).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        if self.kv_scales is not None:
            k, v = fake_int8(k, self.kv_scales[0]), fake_int8(v, self.kv_scales[1])
        if past_k is not None:
            k, v = torch.cat([past_k, k], dim=2), torch.cat([past_v, v], dim=2)
        groups = self.heads // self.kv_heads  # query head h reads key/value head h // groups (HF's repeat_kv)
        out = F.scaled_dot_product_attention(
            q, k.repeat_interleave(groups, 1), v.repeat_interleave(groups, 1), attn_mask=mask
        )
        return self.o_proj(out.transpose(1, 2).reshape(batch, length, -1)), k, v

    def trt_forward(self, helper, x, cos, sin, mask, past_k=None, past_v=None):
        """Network version of forward; mask is additive (B, 1, 1, T, S) (0 or -inf). Queries are grouped as
        (B, Hkv, groups, T, dh) against keys (B, Hkv, 1, S, dh), so no key/value head is copied."""
        groups = self.heads // self.kv_heads

        def heads(t, count, what):
            return helper.addTranspose(helper.addUnflatten(t, -1, (count, self.head_dim)), 1, 2, name=f"{what}_heads")

        q = helper.addRotaryEmbedding(heads(helper(self.q_proj, x), self.heads, "q"), cos, sin, name="q_rope")
        k = helper.addRotaryEmbedding(heads(helper(self.k_proj, x), self.kv_heads, "k"), cos, sin, name="k_rope")
        v = heads(helper(self.v_proj, x), self.kv_heads, "v")
        if self.kv_scales is not None:  # int8 cache: past_k/v arrive int8, present_k/v leave int8
            k = helper.addQuantize(k, self.kv_scales[0], "int8", name="k_int8")
            v = helper.addQuantize(v, self.kv_scales[1], "int8", name="v_int8")
        if past_k is not None:
            k = helper.addConcat([past_k, k], 2, name="present_k")
            v = helper.addConcat([past_v, v], 2, name="present_v")
        present_k, present_v = k, v
        if self.kv_scales is not None:
            k = helper.addDequantize(k, self.kv_scales[0], name="k_read")
            v = helper.addDequantize(v, self.kv_scales[1], name="v_read")
        q = helper.addMul(
            helper.addUnflatten(q, 1, (self.kv_heads, groups), name="q_groups"), self.head_dim**-0.5, name="scale_q"
        )
        scores = helper.addMatMul(q, helper.addUnsqueeze(k, 2, name="k_groups"), transpose_b=True, name="scores")
        weights = helper.addSoftmax(helper.addAdd(scores, mask, name="mask"), -1, name="softmax")
        out = helper.addMatMul(weights, helper.addUnsqueeze(v, 2, name="v_groups"), name="context")
        out = helper.addFlatten(helper.addPermute(out, (0, 3, 1, 2, 4), name="merge_heads"), 2)  # (B, T, H·dh)
        return helper(self.o_proj, out), present_k, present_v


class MLP(nn.Module):
    """SwiGLU: down(silu(gate(x)) · up(x))."""

    def __init__(self, config):
        super().__init__()
        bias = config.mlp_bias
        self.gate_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=bias)
        self.up_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=bias)
        self.down_proj = nn.Linear(config.intermediate_size, config.hidden_size, bias=bias)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))

    def trt_forward(self, helper, x):
        gated = helper.addMul(helper.addSiLU(helper(self.gate_proj, x)), helper(self.up_proj, x), name="swiglu")
        return helper(self.down_proj, gated)


class DecoderLayer(nn.Module):
    """Pre-RMSNorm attention and MLP, each with a residual."""

    def __init__(self, config):
        super().__init__()
        self.self_attn = Attention(config)
        self.mlp = MLP(config)
        self.input_layernorm = RMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, eps=config.rms_norm_eps)

    def forward(self, x, cos, sin, mask, past_k=None, past_v=None):
        attended, k, v = self.self_attn(self.input_layernorm(x), cos, sin, mask, past_k, past_v)
        x = x + attended
        return x + self.mlp(self.post_attention_layernorm(x)), k, v

    def trt_forward(self, helper, x, cos, sin, mask, past_k=None, past_v=None):
        attended, k, v = helper(self.self_attn, helper(self.input_layernorm, x), cos, sin, mask, past_k, past_v)
        x = helper.addAdd(x, attended, name="attn_residual")
        x = helper.addAdd(x, helper(self.mlp, helper(self.post_attention_layernorm, x)), name="mlp_residual")
        return x, k, v


class LlamaModel(nn.Module):
    """Embedding, decoder layers and final norm (Hugging Face's ``model.`` prefix)."""

    def __init__(self, config):
        super().__init__()
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(config) for _ in range(config.num_hidden_layers))
        self.norm = RMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.rotary_emb = RotaryEmbedding(config)


class LlamaForCausalLM(nn.Module):
    """Token ids (B, T) + optional cache → float32 logits and the grown cache; tied or separate LM head."""

    def __init__(self, config):
        super().__init__()
        if not isinstance(config, LlamaConfig):
            raise TypeError(f"LlamaForCausalLM: config must be a LlamaConfig, got {type(config).__name__}")
        self.config = config
        self.model = LlamaModel(config)
        self.lm_head = (
            None if config.tie_word_embeddings else nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        )

    def set_kv_scales(self, scales):
        """An int8 key/value cache with per-layer scales (num_layers, 2) (key, value), e.g. from
        :func:`models.llama.quant.kv_cache_scales`; None: the cache in the compute dtype."""
        layers = self.config.num_hidden_layers
        if scales is not None:
            scales = torch.as_tensor(scales, dtype=torch.float32)
            if tuple(scales.shape) != (layers, 2) or not (scales > 0).all():
                raise ValueError(f"set_kv_scales: need positive scales ({layers}, 2), got {tuple(scales.shape)}")
        for i, layer in enumerate(self.model.layers):
            layer.self_attn.kv_scales = None if scales is None else tuple(float(s) for s in scales[i])

    def kv_scales(self):
        """The int8 cache's (num_layers, 2) scales, or None."""
        scales = [layer.self_attn.kv_scales for layer in self.model.layers]
        return None if scales[0] is None else torch.tensor(scales)

    def head_weight(self):
        return self.model.embed_tokens.weight if self.lm_head is None else self.lm_head.weight

    def forward(self, input_ids, past_k=None, past_v=None, pad=None):
        """input_ids (B, T) int; past_k/past_v (L, B, Hkv, P, dh) or None; pad (B,) left-padding counts or None.
        Returns (logits (B, T, vocab) float32, present_k, present_v (L, B, Hkv, P + T, dh))."""
        if input_ids.dim() != 2:
            raise ValueError(f"LlamaForCausalLM: input_ids must be (B, T), got {tuple(input_ids.shape)}")
        if (past_k is None) != (past_v is None):
            raise ValueError("LlamaForCausalLM: give both past_k and past_v or neither")
        batch, length = input_ids.shape
        offset = 0 if past_k is None else past_k.shape[3]
        device = input_ids.device
        pad = torch.zeros(batch, dtype=torch.int64, device=device) if pad is None else pad.to(device, torch.int64)
        x = self.model.embed_tokens(input_ids)
        query_pos = offset + torch.arange(length, device=device)
        positions = (query_pos[None, :] - pad[:, None]).clamp(min=0)
        cos, sin = (t[:, None] for t in self.model.rotary_emb(positions, x.dtype))
        key_pos = torch.arange(offset + length, device=device)
        mask = visible(query_pos, key_pos, pad)[:, None]
        present_k, present_v = [], []
        for i, layer in enumerate(self.model.layers):
            x, k, v = layer(
                x, cos, sin, mask, None if past_k is None else past_k[i], None if past_v is None else past_v[i]
            )
            present_k.append(k)
            present_v.append(v)
        logits = (self.model.norm(x) @ self.head_weight().to(x.dtype).t()).float()
        return logits, torch.stack(present_k), torch.stack(present_v)

    def trt_forward(self, helper, input_ids, past_k=None, past_v=None, pad=None):
        """Network version of forward (pad is required: an int32 (B,) input, zeros when nothing is padded). The
        cache length is read from past_k's shape, never from a value."""
        x, present_k, present_v = self.trt_hidden(helper, input_ids, past_k, past_v, pad)
        return self.trt_head(helper, x), present_k, present_v

    def trt_hidden(self, helper, input_ids, past_k, past_v, pad):
        """forward up to the final norm: (hidden (B, T, D), present_k, present_v)."""
        if self.lm_head is None:
            x = helper.addTiedEmbedding(self.model.embed_tokens, input_ids, name="embed_tokens")
        else:
            table = helper.addConstant(self.model.embed_tokens.weight, name="embed_tokens_table")
            x = helper.addIndexSelect(table, 0, input_ids, name="embed_tokens")
        length = helper.addShapeOf(input_ids, 1, name="new_tokens")
        offset = None if past_k is None else helper.addShapeOf(past_k, 3, name="cache_length")
        query_pos = helper.addArange(length, name="query_pos")
        key_pos = query_pos
        if offset is not None:
            query_pos = helper.addAdd(query_pos, helper.addCast(offset, torch.int32), name="query_pos_offset")
            key_pos = helper.addArange(helper.addAdd(offset, length, name="key_length"), name="key_pos")
        positions = helper.addMaximum(
            helper.addSub(helper.addUnsqueeze(query_pos, 0), helper.addUnsqueeze(pad, 1), name="positions"),
            0,
            name="positions_clamp",
        )
        cos, sin = (
            helper.addUnsqueeze(t, 1, name=f"{n}_heads")
            for t, n in zip(helper(self.model.rotary_emb, positions, helper.dtype), ("cos", "sin"))
        )
        mask = helper.addWhere(
            trt_visible(helper, query_pos, key_pos, pad),
            0.0,
            helper.addConstant(torch.full((1, 1, 1), float("-inf"))),
            name="additive_mask",
        )
        mask = helper.addUnsqueeze(mask, [1, 2], name="mask_heads")  # (B, 1, 1, T, S)
        present_k, present_v = [], []
        for i, layer in enumerate(self.model.layers):
            x, k, v = helper(
                layer,
                x,
                cos,
                sin,
                mask,
                _layer_cache(helper, past_k, i, "past_k"),
                _layer_cache(helper, past_v, i, "past_v"),
            )
            present_k.append(helper.addUnsqueeze(k, 0, name=f"present_k_{i}"))
            present_v.append(helper.addUnsqueeze(v, 0, name=f"present_v_{i}"))
        return (
            helper(self.model.norm, x),
            helper.addConcat(present_k, 0, name="present_k"),
            helper.addConcat(present_v, 0, name="present_v"),
        )

    def trt_head(self, helper, x):
        """Float32 logits of normalised hidden states. A tied head reads the embedding's table
        (``addTiedEmbedding`` / ``addTiedLogits``: one constant, quantized with the linears in weight-only variants);
        a separate head stays in the network dtype."""
        if self.lm_head is None:
            logits = helper.addTiedLogits(self.model.embed_tokens, x, name="logits")
        else:
            table = helper.addConstant(self.lm_head.weight, name="lm_head")
            logits = helper.addMatMul(
                x, helper.addUnsqueeze(table, 0, name="head_batch"), transpose_b=True, name="logits"
            )
        return helper.addCast(logits, torch.float32, name="logits_fp32")


def _layer_cache(helper, stacked, index, what):
    """Layer ``index`` of a stacked (L, B, Hkv, P, dh) cache, or None."""
    if stacked is None:
        return None
    layer = helper.addSlice(stacked, 0, index, index + 1, name=f"{what}_{index}")
    return helper.addSqueeze(layer, 0, name=f"{what}_{index}_squeeze")


def visible(query_pos, key_pos, pad):
    """(B, T, S) bool: query at position q sees key k when k <= q and k is not padding (k >= pad); a padding query
    sees itself only, so no softmax row is empty."""
    q, k = query_pos[None, :, None], key_pos[None, None, :]
    return (k <= q) & ((k >= pad[:, None, None]) | (k == q))


def trt_visible(helper, query_pos, key_pos, pad):
    """Network version of :func:`visible` from int32 query_pos (T,), key_pos (S,), pad (B,)."""
    q = helper.addUnsqueeze(query_pos, [0, 2], name="q_pos")
    k = helper.addUnsqueeze(key_pos, [0, 1], name="k_pos")
    causal = helper.addNot(helper.addGreater(k, q), name="causal")
    real = helper.addNot(helper.addLess(k, helper.addUnsqueeze(pad, [1, 2], name="pad_rows")), name="not_padding")
    return helper.addAnd(causal, helper.addOr(real, helper.addEqual(k, q), name="self_or_real"), name="visible")
