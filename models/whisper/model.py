"""Whisper as PyTorch modules with openai/whisper's parameter names (so an openai `.pt` state dict loads as is).

The decoder is written around an explicit cache, the same one the TensorRT decoder networks take:
cross-attention keys/values are computed once per utterance by `TextDecoder.cross_kv`, and the
self-attention keys/values of every layer travel as two stacked tensors (n_layer, B, T, D) that
`TextDecoder.forward` returns grown by the new tokens.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from .dims import ModelDimensions


def sinusoids(length, channels, max_timescale=10000):
    """The encoder's fixed positional embedding: [sin | cos] halves (openai/whisper `sinusoids`)."""
    if channels % 2:
        raise ValueError(f"sinusoids: channels must be even, got {channels}")
    log_timescale_increment = math.log(max_timescale) / (channels // 2 - 1)
    inv_timescales = torch.exp(-log_timescale_increment * torch.arange(channels // 2))
    scaled_time = torch.arange(length)[:, None] * inv_timescales[None, :]
    return torch.cat([torch.sin(scaled_time), torch.cos(scaled_time)], dim=1)


class LayerNorm(nn.LayerNorm):
    """LayerNorm whose statistics are computed in float32 whatever the input dtype (as openai does)."""

    def forward(self, x):
        return F.layer_norm(x.float(), self.normalized_shape, self.weight.float(), self.bias.float(), self.eps).to(
            x.dtype
        )

    def trt_forward(self, helper, x):
        return helper.addLayerNorm(self, x)  # statistics in fp32 inside fp16 networks (the helper's fp32 islands)


class MultiHeadAttention(nn.Module):
    """Attention with openai's projections: query/value/out with bias, key without bias."""

    def __init__(self, n_state, n_head):
        super().__init__()
        self.n_head = n_head
        self.query = nn.Linear(n_state, n_state)
        self.key = nn.Linear(n_state, n_state, bias=False)
        self.value = nn.Linear(n_state, n_state)
        self.out = nn.Linear(n_state, n_state)

    def project_kv(self, x):
        """Keys and values (B, S, D) of the sequence x (B, S, D)."""
        return self.key(x), self.value(x)

    def _heads(self, x):
        batch, length, state = x.shape
        return x.view(batch, length, self.n_head, state // self.n_head).transpose(1, 2)

    def forward(self, x, k, v, causal_offset=None):
        """Attend from x (B, T, D) over keys/values (B, S, D).

        causal_offset: None for no mask; else the position of x[:, 0] in the key sequence, so query i sees
        keys 0 .. causal_offset + i (a decoder step with S - T cached positions has causal_offset = S - T).
        """
        q, k, v = self._heads(self.query(x)), self._heads(k), self._heads(v)
        mask = None
        if causal_offset is not None and x.shape[1] > 1:
            query_pos = torch.arange(x.shape[1], device=x.device)[:, None] + causal_offset
            mask = torch.arange(k.shape[2], device=x.device)[None, :] <= query_pos
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.out(out.transpose(1, 2).flatten(2))

    def trt_forward(self, helper, x, k, v, causal_offset=None):
        """Network version of forward. causal_offset: None (no mask) or an int; the (T, S) additive mask is made
        once per network (every layer of a decoder shares T and S)."""
        head_dim = self.query.out_features // self.n_head
        q = helper.addMul(helper(self.query, x), head_dim**-0.5, name="scale_q")
        q, k, v = (
            helper.addTranspose(helper.addUnflatten(t, -1, (self.n_head, head_dim)), 1, 2, name=f"{what}_heads")
            for t, what in ((q, "q"), (k, "k"), (v, "v"))
        )
        scores = helper.addMatMul(q, k, transpose_b=True, name="scores")  # (B, H, T, S)
        if causal_offset is not None:
            mask = helper.memo(
                ("whisper_causal_mask", causal_offset), lambda: _trt_causal_mask(helper, x, k, causal_offset)
            )
            scores = helper.addAdd(scores, mask, name="causal_mask")
        weights = helper.addSoftmax(scores, -1, name="softmax")
        out = helper.addMatMul(weights, v, name="context")  # (B, H, T, dh)
        return helper(self.out, helper.addFlatten(helper.addTranspose(out, 1, 2, name="merge_heads"), 2))


def _trt_causal_mask(helper, x, k, causal_offset):
    """(T, S) additive mask, 0 where key j <= causal_offset + query i, -inf elsewhere, in the network dtype."""
    rows = helper.addUnsqueeze(helper.addArange(helper.addShapeOf(x, 1)), 1)
    cols = helper.addUnsqueeze(helper.addArange(helper.addShapeOf(k, 2)), 0)
    hidden = helper.addGreater(cols, helper.addAdd(rows, causal_offset) if causal_offset else rows)
    return helper.addWhere(hidden, helper.addConstant(torch.full((1, 1), float("-inf"))), 0.0, name="causal")


def _mlp(n_state):
    return nn.Sequential(nn.Linear(n_state, 4 * n_state), nn.GELU(), nn.Linear(4 * n_state, n_state))


class EncoderBlock(nn.Module):
    """Pre-LN self-attention + MLP block of the audio encoder."""

    def __init__(self, n_state, n_head):
        super().__init__()
        self.attn = MultiHeadAttention(n_state, n_head)
        self.attn_ln = LayerNorm(n_state)
        self.mlp = _mlp(n_state)
        self.mlp_ln = LayerNorm(n_state)

    def forward(self, x):
        a = self.attn_ln(x)
        x = x + self.attn(a, *self.attn.project_kv(a))
        return x + self.mlp(self.mlp_ln(x))

    def trt_forward(self, helper, x):
        a = helper(self.attn_ln, x)
        k, v = helper(self.attn.key, a), helper(self.attn.value, a)
        x = helper.addAdd(x, helper(self.attn, a, k, v), name="attn_residual")
        return helper.addAdd(x, helper(self.mlp, helper(self.mlp_ln, x)), name="mlp_residual")


class DecoderBlock(nn.Module):
    """Pre-LN masked self-attention, cross-attention and MLP block of the text decoder."""

    def __init__(self, n_state, n_head):
        super().__init__()
        self.attn = MultiHeadAttention(n_state, n_head)
        self.attn_ln = LayerNorm(n_state)
        self.cross_attn = MultiHeadAttention(n_state, n_head)
        self.cross_attn_ln = LayerNorm(n_state)
        self.mlp = _mlp(n_state)
        self.mlp_ln = LayerNorm(n_state)

    def forward(self, x, cross_k, cross_v, past_k=None, past_v=None):
        """x (B, T, D); cross_k/v (B, S, D); past_k/v (B, P, D) or None. Returns x and the grown self k/v."""
        a = self.attn_ln(x)
        k, v = self.attn.project_kv(a)
        if past_k is not None:
            k, v = torch.cat([past_k, k], dim=1), torch.cat([past_v, v], dim=1)
        x = x + self.attn(a, k, v, causal_offset=k.shape[1] - x.shape[1])
        x = x + self.cross_attn(self.cross_attn_ln(x), cross_k, cross_v)
        return x + self.mlp(self.mlp_ln(x)), k, v

    def trt_forward(self, helper, x, cross_k, cross_v, past_k=None, past_v=None):
        """Network version of forward; with a cache, x is one new token (it sees every key: no mask)."""
        a = helper(self.attn_ln, x)
        k, v = helper(self.attn.key, a), helper(self.attn.value, a)
        if past_k is not None:
            k = helper.addConcat([past_k, k], 1, name="self_k")
            v = helper.addConcat([past_v, v], 1, name="self_v")
        x = helper.addAdd(
            x, helper(self.attn, a, k, v, causal_offset=0 if past_k is None else None), name="attn_residual"
        )
        c = helper(self.cross_attn_ln, x)
        x = helper.addAdd(x, helper(self.cross_attn, c, cross_k, cross_v), name="cross_residual")
        return helper.addAdd(x, helper(self.mlp, helper(self.mlp_ln, x)), name="mlp_residual"), k, v


class AudioEncoder(nn.Module):
    """log-mel (B, n_mels, 2 * n_ctx) -> audio features (B, n_ctx, D)."""

    def __init__(self, n_mels, n_ctx, n_state, n_head, n_layer):
        super().__init__()
        self.n_mels, self.n_ctx = n_mels, n_ctx
        self.conv1 = nn.Conv1d(n_mels, n_state, kernel_size=3, padding=1)
        self.conv2 = nn.Conv1d(n_state, n_state, kernel_size=3, stride=2, padding=1)
        self.register_buffer("positional_embedding", sinusoids(n_ctx, n_state))
        self.blocks = nn.ModuleList(EncoderBlock(n_state, n_head) for _ in range(n_layer))
        self.ln_post = LayerNorm(n_state)

    def check_mel(self, mel):
        expected = (self.n_mels, 2 * self.n_ctx)
        if mel.dim() != 3 or tuple(mel.shape[1:]) != expected:
            raise ValueError(f"AudioEncoder: mel must be (B, {expected[0]}, {expected[1]}), got {tuple(mel.shape)}")

    def forward(self, mel):
        self.check_mel(mel)
        x = F.gelu(self.conv1(mel))
        x = F.gelu(self.conv2(x)).transpose(1, 2)
        x = x + self.positional_embedding.to(x.dtype)
        for block in self.blocks:
            x = block(x)
        return self.ln_post(x)

    def trt_forward(self, helper, mel):
        """mel (B, n_mels, 3000) in the network dtype -> (B, n_ctx, D)."""
        x = helper.addGELU(helper(self.conv1, mel), name="conv1_gelu")
        x = helper.addGELU(helper(self.conv2, x), name="conv2_gelu")
        x = helper.addTranspose(x, 1, 2, name="to_time_major")
        x = helper.addAdd(
            x, helper.addConstant(self.positional_embedding[None], name="positional_embedding"), name="add_positions"
        )
        for block in self.blocks:
            x = helper(block, x)
        return helper(self.ln_post, x)


class TextDecoder(nn.Module):
    """Token ids (B, T) + cross K/V + optional self-attention cache -> logits (B, T, n_vocab)."""

    def __init__(self, n_vocab, n_ctx, n_state, n_head, n_layer):
        super().__init__()
        self.n_ctx = n_ctx
        self.token_embedding = nn.Embedding(n_vocab, n_state)
        self.positional_embedding = nn.Parameter(torch.empty(n_ctx, n_state))
        self.blocks = nn.ModuleList(DecoderBlock(n_state, n_head) for _ in range(n_layer))
        self.ln = LayerNorm(n_state)

    def cross_kv(self, audio_features):
        """Cross-attention keys and values of every layer, each stacked to (n_layer, B, S, D)."""
        pairs = [block.cross_attn.project_kv(audio_features) for block in self.blocks]
        return torch.stack([k for k, _ in pairs]), torch.stack([v for _, v in pairs])

    def forward(self, tokens, cross_k, cross_v, past_k=None, past_v=None):
        """Returns (logits (B, T, n_vocab) float32, present_k, present_v (n_layer, B, P + T, D)).

        past_k/past_v: the cache of earlier calls (n_layer, B, P, D), or None when tokens is the whole prefix.
        """
        if tokens.dim() != 2:
            raise ValueError(f"TextDecoder: tokens must be (B, T), got {tuple(tokens.shape)}")
        if (past_k is None) != (past_v is None):
            raise ValueError("TextDecoder: give both past_k and past_v or neither")
        offset = 0 if past_k is None else past_k.shape[2]
        if offset + tokens.shape[1] > self.n_ctx:
            raise ValueError(
                f"TextDecoder: {offset} cached + {tokens.shape[1]} new tokens exceed n_text_ctx {self.n_ctx}"
            )
        x = self.token_embedding(tokens) + self.positional_embedding[offset : offset + tokens.shape[1]]
        x = x.to(cross_k.dtype)
        present_k, present_v = [], []
        for i, block in enumerate(self.blocks):
            x, k, v = block(
                x, cross_k[i], cross_v[i], None if past_k is None else past_k[i], None if past_v is None else past_v[i]
            )
            present_k.append(k)
            present_v.append(v)
        return self.head(self.ln(x)), torch.stack(present_k), torch.stack(present_v)

    def head(self, x):
        """Float32 logits of the normalised hidden states x (B, T, D): the tied token embedding."""
        return (x @ self.token_embedding.weight.to(x.dtype).t()).float()

    def trt_cross_kv(self, helper, audio_features):
        """Network version of cross_kv: (B, S, D) -> two (n_layer, B, S, D) tensors."""
        keys = [helper.addUnsqueeze(helper(block.cross_attn.key, audio_features), 0) for block in self.blocks]
        values = [helper.addUnsqueeze(helper(block.cross_attn.value, audio_features), 0) for block in self.blocks]
        return helper.addConcat(keys, 0, name="cross_k"), helper.addConcat(values, 0, name="cross_v")

    def trt_forward(self, helper, tokens, cross_k, cross_v, past_k=None, past_v=None):
        """Network version of forward: (logits (B, T, n_vocab) float32, present_k, present_v).

        Without past_k/past_v tokens is a whole prefix (B, T); with them, one new token (B, 1) whose position is
        the cache length, read from past_k's shape (never from a value).
        """
        x, present_k, present_v = self.trt_hidden(helper, tokens, cross_k, cross_v, past_k, past_v)
        return self.trt_head(helper, x), present_k, present_v

    def trt_hidden(self, helper, tokens, cross_k, cross_v, past_k=None, past_v=None):
        """forward without the head: (normalised hidden states (B, T, D), present_k, present_v)."""
        x = helper.addTiedEmbedding(self.token_embedding, tokens, name="token_embedding")
        length = helper.addShapeOf(tokens, 1, name="new_tokens")
        start = 0 if past_k is None else helper.addShapeOf(past_k, 2, name="cache_length")
        end = length if past_k is None else helper.addAdd(start, length, name="positions_end")
        positions = helper.addSlice(
            helper.addConstant(self.positional_embedding, name="position_table"), 0, start, end, name="positions"
        )
        x = helper.addAdd(x, helper.addUnsqueeze(positions, 0), name="add_positions")
        present_k, present_v = [], []
        for i, block in enumerate(self.blocks):

            def layer(stacked, what):
                return (
                    None
                    if stacked is None
                    else helper.addSqueeze(
                        helper.addSlice(stacked, 0, i, i + 1, name=f"{what}_{i}"), 0, name=f"{what}_{i}_squeeze"
                    )
                )

            x, k, v = helper(
                block,
                x,
                layer(cross_k, "cross_k"),
                layer(cross_v, "cross_v"),
                layer(past_k, "past_k"),
                layer(past_v, "past_v"),
            )
            present_k.append(helper.addUnsqueeze(k, 0, name=f"present_k_{i}"))
            present_v.append(helper.addUnsqueeze(v, 0, name=f"present_v_{i}"))
        return (
            helper(self.ln, x),
            helper.addConcat(present_k, 0, name="present_k"),
            helper.addConcat(present_v, 0, name="present_v"),
        )

    def trt_head(self, helper, x):
        """Network version of :meth:`head`."""
        logits = helper.addTiedLogits(self.token_embedding, x, name="logits")
        return helper.addCast(logits, torch.float32, name="logits_fp32")


class Whisper(nn.Module):
    """The encoder-decoder pair; `Whisper(ModelDimensions.preset("tiny.en"))`."""

    def __init__(self, dims):
        super().__init__()
        if not isinstance(dims, ModelDimensions):
            raise TypeError(f"Whisper: dims must be ModelDimensions, got {type(dims).__name__}")
        self.dims = dims
        self.encoder = AudioEncoder(
            dims.n_mels, dims.n_audio_ctx, dims.n_audio_state, dims.n_audio_head, dims.n_audio_layer
        )
        self.decoder = TextDecoder(
            dims.n_vocab, dims.n_text_ctx, dims.n_text_state, dims.n_text_head, dims.n_text_layer
        )

    def forward(self, mel, tokens):
        """Logits (B, T, n_vocab) of the whole token prefix, without a cache (openai's `Whisper.forward`)."""
        cross_k, cross_v = self.decoder.cross_kv(self.encoder(mel))
        return self.decoder(tokens, cross_k, cross_v)[0]


def random_init_(model, seed=0, std=0.02):
    """Give a model random weights (for tests and benchmarks without checkpoints); returns it."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            for name, param in module.named_parameters(recurse=False):
                offset = 1.0 if isinstance(module, nn.LayerNorm) and name == "weight" else 0.0
                param.copy_(offset + std * torch.randn(param.shape, generator=generator))
    return model
