"""TensorRT networks for Whisper, built with trt_helper, and decoding runners over them.

Four networks, each a separate plan:

| network | inputs | outputs |
|---|---|---|
| encoder | mel (B, n_mels, 3000) float32 | audio_features (B, 1500, D) |
| cross_kv | audio_features (B, 1500, D) | cross_k, cross_v (L, B, 1500, D) |
| decoder | tokens (B, T) int32, cross_k, cross_v | logits (B, n_vocab) float32 (last position), present_k, present_v (L, B, T, D) |
| decoder_step | tokens (B, 1) int32, cross_k, cross_v, past_k, past_v (L, B, P, D) | logits, present_k, present_v (L, B, P + 1, D) |

`decoder` is the no-cache decoder (it recomputes the whole prefix) and also the first step of cached decoding;
`decoder_step` appends one token to the cache. The cache length P is only ever read from past_k's shape, so no
shape depends on an input value. K/V and audio features travel in the network dtype (fp32 or fp16); mel in
and logits out are float32. L = n_text_layer, D = n_text_state; batch is dynamic up to `max_batch`.
"""

from dataclasses import dataclass
from pathlib import Path

import torch

from .decoding import Runner

NETWORKS = ("encoder", "cross_kv", "decoder", "decoder_step")
DTYPES = {"fp32": torch.float32, "fp16": torch.float16}


@dataclass(frozen=True)
class Profile:
    """Shape ranges of the networks: batch 1..max_batch (tuned for opt_batch), tokens up to n_text_ctx."""

    max_batch: int = 8
    opt_batch: int = 1

    def batch(self, rest_min, rest_opt=None, rest_max=None):
        rest_opt, rest_max = rest_opt or rest_min, rest_max or rest_min
        return (1, *rest_min), (self.opt_batch, *rest_opt), (self.max_batch, *rest_max)


def _helper(name, dtype, model, options=None):
    import trt_helper

    helper = trt_helper.NetworkHelper(dtype=dtype, name=name, **(options or {}))
    helper.setModel(model)
    return helper


def _kv_input(helper, name, dims, profile, length_range, dtype=None):
    layers, state = dims.n_text_layer, dims.n_text_state
    lo, opt, hi = length_range
    return helper.addInput(
        name,
        dtype or helper.dtype,
        (layers, -1, -1 if lo != hi else lo, state),
        min_shape=(layers, 1, lo, state),
        opt_shape=(layers, profile.opt_batch, opt, state),
        max_shape=(layers, profile.max_batch, hi, state),
    )


def encoder_network(model, dtype=torch.float32, profile=Profile(), **options):
    """mel (B, n_mels, 3000) float32 -> audio_features (B, n_audio_ctx, D) in `dtype`. `options` go to
    NetworkHelper (e.g. weights="int8")."""
    dims = model.dims
    helper = _helper("whisper_encoder", dtype, model, options)
    frames = 2 * dims.n_audio_ctx
    lo, opt, hi = profile.batch((dims.n_mels, frames))
    mel = helper.addInput("mel", torch.float32, (-1, dims.n_mels, frames), min_shape=lo, opt_shape=opt, max_shape=hi)
    features = helper(model.encoder, helper.addCast(mel, dtype, name="mel_cast"))
    helper.markOutput(features, "audio_features")
    return helper


def cross_kv_network(model, dtype=torch.float32, profile=Profile(), audio_range=None, **options):
    """audio_features (B, S, D) -> cross_k, cross_v (n_text_layer, B, S, D); S = n_audio_ctx, or dynamic in
    audio_range (min, opt, max) for the dynamic-length encoder (models.whisper.dynamic)."""
    dims = model.dims
    helper = _helper("whisper_cross_kv", dtype, model, options)
    s_lo, s_opt, s_hi = audio_range or (dims.n_audio_ctx,) * 3
    lo, opt, hi = profile.batch((s_lo, dims.n_audio_state), (s_opt, dims.n_audio_state), (s_hi, dims.n_audio_state))
    features = helper.addInput(
        "audio_features",
        dtype,
        (-1, -1 if s_lo != s_hi else s_lo, dims.n_audio_state),
        min_shape=lo,
        opt_shape=opt,
        max_shape=hi,
    )
    cross_k, cross_v = model.decoder.trt_cross_kv(helper, features)
    helper.markOutput(cross_k, "cross_k")
    helper.markOutput(cross_v, "cross_v")
    return helper


def decoder_network(
    model, dtype=torch.float32, profile=Profile(), cache=False, audio_range=None, kv_scales=None, **options
):
    """The decoder: whole prefix (cache=False, the no-cache decoder) or one token after a cache (cache=True);
    audio_range (min, opt, max) makes the cross K/V length dynamic (default: n_audio_ctx).

    kv_scales: None (self-attention cache in `dtype`), or the per-tensor (k, v) scales of an int8 cache:
    present_k/v are quantized on write (int8 outputs) and past_k/v dequantized on read (int8 inputs)."""
    dims = model.dims
    helper = _helper("whisper_decoder_step" if cache else "whisper_decoder", dtype, model, options)
    if cache:
        tokens = helper.addInput(
            "tokens",
            torch.int32,
            (-1, 1),
            min_shape=(1, 1),
            opt_shape=(profile.opt_batch, 1),
            max_shape=(profile.max_batch, 1),
        )
    else:
        lo, opt, hi = profile.batch((1,), (2,), (dims.n_text_ctx,))
        tokens = helper.addInput("tokens", torch.int32, (-1, -1), min_shape=lo, opt_shape=opt, max_shape=hi)
    audio = audio_range or (dims.n_audio_ctx,) * 3
    cross_k = _kv_input(helper, "cross_k", dims, profile, audio)
    cross_v = _kv_input(helper, "cross_v", dims, profile, audio)
    past = ()
    if cache:
        lengths = (1, 16, dims.n_text_ctx - 1)
        cache_dtype = torch.int8 if kv_scales else None
        past = tuple(_kv_input(helper, f"past_{kv}", dims, profile, lengths, cache_dtype) for kv in "kv")
        if kv_scales:
            past = tuple(helper.addDequantize(p, s, name=f"past_{kv}_dq") for p, s, kv in zip(past, kv_scales, "kv"))
    decoder = model.decoder
    with helper.scope(decoder) as scope:  # only the last position's logits leave the network
        x, present_k, present_v = scope.record(decoder.trt_hidden(helper, tokens, cross_k, cross_v, *past))
        last = helper.addSlice(x, 1, -1, None, name="last_position")
        logits = helper.addSqueeze(decoder.trt_head(helper, last), 1, name="last_logits")
    if kv_scales:
        present_k = helper.addQuantize(present_k, kv_scales[0], "int8", name="present_k_q")
        present_v = helper.addQuantize(present_v, kv_scales[1], "int8", name="present_v_q")
    helper.markOutput(logits, "logits")
    helper.markOutput(present_k, "present_k")
    helper.markOutput(present_v, "present_v")
    return helper


def all_networks(model, dtype=torch.float32, profile=Profile(), names=NETWORKS, kv_scales=None, **options):
    """{name: NetworkHelper} for the named networks; `kv_scales` to the decoders (int8 self-attention cache),
    `options` to every NetworkHelper (weights=, group_size=, quantized=)."""
    makers = {
        "encoder": lambda: encoder_network(model, dtype, profile, **options),
        "cross_kv": lambda: cross_kv_network(model, dtype, profile, **options),
        "decoder": lambda: decoder_network(model, dtype, profile, False, kv_scales=kv_scales, **options),
        "decoder_step": lambda: decoder_network(model, dtype, profile, True, kv_scales=kv_scales, **options),
    }
    unknown = set(names) - set(makers)
    if unknown:
        raise ValueError(f"unknown Whisper networks {sorted(unknown)}; known: {list(makers)}")
    return {name: makers[name]() for name in names}


def plan_name(name, precision, variant=None):
    """The plan file of network `name`: whisper_<name>_<precision>[_<weights>][_kv-int8].plan (models.whisper.quantized
    Variant)."""
    return f"whisper_{name}_{precision}{variant.suffix(name) if variant else ''}.plan"


class NetworkRunner(Runner):
    """Decoding over the four networks, each given as a callable {input name: tensor} -> {output name: tensor}.

    The same runner drives the reference executor (`ReferenceRunner`) and TensorRT engines (`EngineRunner`).
    use_cache=False decodes with the `decoder` network only, re-running the whole prefix at every step.
    """

    def __init__(self, calls, dtype, use_cache=True, name="network", device="cpu"):
        missing = [
            n for n in ("encoder", "cross_kv", "decoder") + (("decoder_step",) if use_cache else ()) if n not in calls
        ]
        if missing:
            raise ValueError(f"{type(self).__name__}: missing networks {missing}")
        self.calls, self.dtype, self.use_cache, self.name, self.device = calls, dtype, use_cache, name, device

    def audio_context(self, mel):
        features = self.calls["encoder"]({"mel": mel.float().to(self.device)})["audio_features"]
        out = self.calls["cross_kv"]({"audio_features": features})
        return out["cross_k"], out["cross_v"]

    def prefix(self, context, tokens):
        out = self.calls["decoder"](
            {"tokens": tokens.to(self.device, torch.int32), "cross_k": context[0], "cross_v": context[1]}
        )
        return out["logits"].float().cpu(), (out["present_k"], out["present_v"])

    def step(self, context, tokens, cache):
        if tokens.shape[1] != 1:
            raise ValueError(f"decoder_step takes one new token per row, got tokens {tuple(tokens.shape)}")
        out = self.calls["decoder_step"](
            {
                "tokens": tokens.to(self.device, torch.int32),
                "cross_k": context[0],
                "cross_v": context[1],
                "past_k": cache[0],
                "past_v": cache[1],
            }
        )
        return out["logits"].float().cpu(), (out["present_k"], out["present_v"])


class ReferenceRunner(NetworkRunner):
    """The networks evaluated by trt_helper's reference executor (a numeric oracle, not a runtime: never time it)."""

    def __init__(
        self, model, dtype=torch.float32, use_cache=True, device="cpu", profile=Profile(), networks=None, **options
    ):
        names = ("encoder", "cross_kv", "decoder") + (("decoder_step",) if use_cache else ())
        self.networks = networks or all_networks(model, dtype, profile, names, **options)
        calls = {
            name: (lambda inputs, h=helper: h.reference(inputs, device=device))
            for name, helper in self.networks.items()
        }
        super().__init__(calls, dtype, use_cache, name="reference", device=device)


class EngineRunner(NetworkRunner):
    """The built plans run by trt_helper.Engine (needs a TensorRT runtime and a GPU the plans support)."""

    def __init__(self, plan_dir, precision="fp32", use_cache=True, variant=None):
        import trt_helper

        plan_dir = Path(plan_dir)
        names = ("encoder", "cross_kv", "decoder") + (("decoder_step",) if use_cache else ())
        paths = {name: plan_dir / plan_name(name, precision, variant) for name in names}
        missing = [str(p) for p in paths.values() if not p.is_file()]
        if missing:
            options = "" if variant is None else variant.build_options()
            raise FileNotFoundError(
                f"EngineRunner: missing plans {missing}; build them with "
                f"python3 -m models.whisper.build --precision {precision}{options} --out {plan_dir}"
            )
        engines = {name: trt_helper.Engine(path) for name, path in paths.items()}
        calls = {name: (lambda inputs, e=engine: e(**inputs)) for name, engine in engines.items()}
        super().__init__(calls, DTYPES[precision], use_cache, name="trt", device="cuda")
