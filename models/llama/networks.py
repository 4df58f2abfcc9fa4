"""TensorRT networks for a LLaMA decoder, built with trt_helper, and runners over them.

Two networks, each a separate plan:

- prefill: input_ids (B, T) int32, pad (B,) int32 → logits (B, vocab) float32 of the last position ((B, T, vocab)
  with logits="all"), present_k, present_v (L, B, Hkv, T, dh).
- decode: input_ids (B, 1) int32, pad (B,) int32, past_k, past_v (L, B, Hkv, P, dh) → logits (B, vocab),
  present_k, present_v (L, B, Hkv, P + 1, dh).

``pad`` counts each row's left-padding tokens (zeros when the rows have equal lengths); the cache length P is read
from past_k's shape. The cache travels in the network dtype, or as int8 with ``kv_scales`` (per-layer key/value
scales: quantized when written, dequantized when read); logits are float32. Batch, prompt length and cache length
are dynamic (``Profile``).
"""

from dataclasses import dataclass
from pathlib import Path

import torch

from .generate import Runner

NETWORKS = ("prefill", "decode")
DTYPES = {"fp32": torch.float32, "fp16": torch.float16}


@dataclass(frozen=True)
class Profile:
    """Shape ranges: batch 1..max_batch, prompts 1..max_prompt tokens, cache up to max_length - 1 positions."""

    max_batch: int = 8
    opt_batch: int = 1
    max_prompt: int = 512
    opt_prompt: int = 32
    max_length: int = 2048

    def batch(self, rest_min, rest_opt, rest_max):
        return (1, *rest_min), (self.opt_batch, *rest_opt), (self.max_batch, *rest_max)


def _inputs(helper, model, profile, length_range):
    """input_ids (B, T) and pad (B,) int32 inputs."""
    lo, opt, hi = profile.batch(*((n,) for n in length_range))
    input_ids = helper.addInput(
        "input_ids",
        torch.int32,
        (-1, -1 if length_range[0] != length_range[2] else 1),
        min_shape=lo,
        opt_shape=opt,
        max_shape=hi,
    )
    pad = helper.addInput(
        "pad", torch.int32, (-1,), min_shape=(1,), opt_shape=(profile.opt_batch,), max_shape=(profile.max_batch,)
    )
    return input_ids, pad


def _cache_input(helper, model, name, profile):
    config = model.config
    layers, heads, dim = config.num_hidden_layers, config.num_key_value_heads, config.head_dim
    return helper.addInput(
        name,
        helper.dtype if model.kv_scales() is None else torch.int8,
        (layers, -1, heads, -1, dim),
        min_shape=(layers, 1, heads, 1, dim),
        opt_shape=(layers, profile.opt_batch, heads, profile.opt_prompt, dim),
        max_shape=(layers, profile.max_batch, heads, profile.max_length - 1, dim),
    )


def network(
    model,
    name,
    dtype=torch.float32,
    profile=Profile(),
    logits="last",
    weights="fp",
    group_size=None,
    kv_scales=None,
    quantized=None,
):
    """The ``prefill`` or ``decode`` network of ``model`` in ``dtype``; logits="all" gives every position's logits
    (prefill only: for perplexity and parity checks). ``weights``: "fp", "int8" or "int4" weight-only linears
    (symmetric round-to-nearest, per output channel or blocks of ``group_size`` along K; trt_helper.quant), and a
    tied token table with them (one constant, at least 8 bits; an untied embedding and lm_head stay in ``dtype``). ``quantized``: {linear path: QuantizedWeight} used instead
    (SmoothQuant W8A8, the Q4_1 blocks). ``kv_scales`` (num_layers, 2): an int8 key/value cache
    (:func:`models.llama.quant.kv_cache_scales`)."""
    import trt_helper

    if name not in NETWORKS:
        raise ValueError(f"unknown llama network {name!r}; known: {list(NETWORKS)}")
    if logits not in ("last", "all") or (logits == "all" and name != "prefill"):
        raise ValueError(f"llama network {name}: logits must be 'last' (or 'all' for prefill), got {logits!r}")
    helper = trt_helper.NetworkHelper(
        dtype=dtype, name=f"llama_{name}", weights=weights, group_size=group_size, quantized=quantized
    )
    helper.setModel(model)
    before = model.kv_scales()
    model.set_kv_scales(kv_scales)
    try:
        _add_network(helper, model, name, profile, logits)
    finally:
        model.set_kv_scales(before)
    return helper


def _add_network(helper, model, name, profile, logits):
    if name == "prefill":
        input_ids, pad = _inputs(helper, model, profile, (1, profile.opt_prompt, profile.max_prompt))
        past = (None, None)
    else:
        input_ids, pad = _inputs(helper, model, profile, (1, 1, 1))
        past = (_cache_input(helper, model, "past_k", profile), _cache_input(helper, model, "past_v", profile))
    with helper.scope(model) as scope:
        x, present_k, present_v = scope.record(model.trt_hidden(helper, input_ids, *past, pad))
        if logits == "last":
            x = helper.addSlice(x, 1, -1, None, name="last_position")
        out = model.trt_head(helper, x)
        if logits == "last":
            out = helper.addSqueeze(out, 1, name="last_logits")
    helper.markOutput(out, "logits")
    helper.markOutput(present_k, "present_k")
    helper.markOutput(present_v, "present_v")


def plan_name(name, precision, weights="fp", kv_cache="fp"):
    variant = ("" if weights == "fp" else f"_{weights}") + ("_kvint8" if kv_cache == "int8" else "")
    return f"llama_{name}_{precision}{variant}.plan"


class NetworkRunner(Runner):
    """Generation over the two networks, each a callable {input name: tensor} -> {output name: tensor}."""

    def __init__(self, calls, name, device="cpu"):
        self.calls, self.name, self.device = calls, name, device

    def prefill(self, input_ids, pad):
        out = self.calls["prefill"](
            {"input_ids": input_ids.to(self.device, torch.int32), "pad": pad.to(self.device, torch.int32)}
        )
        return out["logits"].float().cpu(), (out["present_k"], out["present_v"])

    def step(self, input_ids, pad, cache):
        out = self.calls["decode"](
            {
                "input_ids": input_ids.to(self.device, torch.int32),
                "pad": pad.to(self.device, torch.int32),
                "past_k": cache[0],
                "past_v": cache[1],
            }
        )
        return out["logits"].float().cpu(), (out["present_k"], out["present_v"])


class ReferenceRunner(NetworkRunner):
    """The networks evaluated by trt_helper's reference executor (a numeric oracle, not a runtime: never time it)."""

    def __init__(self, model, dtype=torch.float32, profile=Profile(), device="cpu", **options):
        """``options``: network()'s weights, group_size, kv_scales, quantized."""
        self.networks = {name: network(model, name, dtype, profile, **options) for name in NETWORKS}
        calls = {
            name: (lambda inputs, h=helper: h.reference(inputs, device=device))
            for name, helper in self.networks.items()
        }
        super().__init__(calls, "reference", device)


class EngineRunner(NetworkRunner):
    """The built plans run by trt_helper.Engine (needs a TensorRT runtime and a GPU the plans support)."""

    def __init__(self, plan_dir, precision="fp16", weights="fp", kv_cache="fp"):
        import trt_helper

        paths = {name: Path(plan_dir) / plan_name(name, precision, weights, kv_cache) for name in NETWORKS}
        missing = [str(p) for p in paths.values() if not p.is_file()]
        if missing:
            raise FileNotFoundError(
                f"EngineRunner: missing plans {missing}; build them with python3 -m models.llama.build --out {plan_dir}"
            )
        engines = {name: trt_helper.Engine(path) for name, path in paths.items()}
        super().__init__(
            {name: (lambda inputs, e=engine: e(**inputs)) for name, engine in engines.items()}, "trt", "cuda"
        )
