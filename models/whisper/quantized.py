"""Quantized Whisper variants, shared by build.py, infer.py and benchmarks/whisper_quant.py.

- weights "int8" (default per output channel) or "int4" (default blocks of 64 along K; `group_size`, 0 on the
  command line: per output channel): every nn.Linear and the tied
  token table (embedding lookup and logits head, `TIED_TABLES`; int8 in int4 variants) weight-only, round-to-nearest
  (`NetworkHelper(weights=..., group_size=...)`; the PyTorch model gets the same weights through
  `trt_helper.quant.fake_quantized`);
- kv_cache "int8": the decoder's self-attention cache held as int8, quantized on write and dequantized on read, with
  per-tensor scales = absmax of every decoder layer's key (value) projection on calibration clips / 127. The
  cross-attention K/V stay in the network dtype (as TensorRT-LLM's encoder-decoder int8 KV cache).

Calibration clips default to tests/data/whisper/espeak: real speech outside the English clips the WER is measured on.
"""

from dataclasses import dataclass
from pathlib import Path

import torch

from trt_helper.quant import NetworkCalibrator, calibrate
from trt_helper.quant.kv_cache import cache_scale, dequantize_cache, quantize_cache

from .audio import load_audio
from .decoding import TorchRunner, transcribe
from .networks import NetworkRunner, all_networks

CALIBRATION_DIR = Path(__file__).resolve().parents[2] / "tests" / "data" / "whisper" / "espeak"
WEIGHTS = ("fp", "int8", "int4")
KV_CACHES = ("fp", "int8")
#: group_size when none is given (None: per output channel). int4 g64: WER 5.59 % (g128: 7.39 %) with the token table
#: quantized too; int8 g64 did not beat per channel through the fp16 networks (benchmarks/results/whisper_quant.json)
DEFAULT_GROUP = {"int8": None, "int4": 64}
TIED_TABLES = ("decoder.token_embedding",)  # read through addTiedEmbedding / addTiedLogits: quantized with the linears


@dataclass(frozen=True)
class Variant:
    """Which quantization a set of Whisper networks carries; `group_size` None: per output channel."""

    weights: str = "fp"
    group_size: int | None = None
    kv_cache: str = "fp"

    def __post_init__(self):
        if self.weights not in WEIGHTS or self.kv_cache not in KV_CACHES:
            raise ValueError(
                f"Variant: weights={self.weights!r} (one of {WEIGHTS}), kv_cache={self.kv_cache!r} (one of {KV_CACHES})"
            )
        if self.group_size is not None and self.weights == "fp":
            raise ValueError(f"Variant: group_size={self.group_size} needs quantized weights, got weights='fp'")

    @classmethod
    def make(cls, weights="fp", group_size=None, kv_cache="fp"):
        """The variant with the command-line defaults: DEFAULT_GROUP unless `group_size` says otherwise (0: per
        output channel); `group_size` is ignored for fp weights."""
        if weights == "fp" or group_size == 0:
            group_size = None
        elif group_size is None:
            group_size = DEFAULT_GROUP[weights]
        return cls(weights, group_size, kv_cache)

    def suffix(self, network):
        """Plan-name suffix of `network`: "" for fp, "_int8" (per channel), "_int4-g64", "_kv-int8" (decoders only),
        joined."""
        parts = []
        if self.weights != "fp":
            parts.append(self.weights + (f"-g{self.group_size}" if self.group_size else ""))
        if self.kv_cache != "fp" and network.startswith("decoder"):
            parts.append(f"kv-{self.kv_cache}")
        return "".join(f"_{p}" for p in parts)

    def build_options(self):
        """The models.whisper.build arguments that make these plans ("" for fp)."""
        options = "" if self.weights == "fp" else f" --weights {self.weights} --group-size {self.group_size or 0}"
        return options + (f" --kv-cache {self.kv_cache}" if self.kv_cache != "fp" else "")

    def weight_options(self):
        """NetworkHelper options of the weights."""
        return {} if self.weights == "fp" else {"weights": self.weights, "group_size": self.group_size}


def calibration_audio(paths=None):
    """16 kHz samples of the calibration clips (`paths`, default every clip in CALIBRATION_DIR)."""
    paths = [Path(p) for p in paths] if paths else sorted(CALIBRATION_DIR.glob("*.flac"))
    if not paths:
        raise FileNotFoundError(f"whisper calibration: no clips given and none in {CALIBRATION_DIR}")
    return [load_audio(p) for p in paths]


def kv_cache_scales(model, tokenizer, audio, executor="torch"):
    """Per-tensor int8 scales (k, v) of the decoder self-attention cache: greedy-transcribe `audio` with the PyTorch
    `model` (executor="torch") or its fp32 networks through the reference executor ("reference") and take the absmax
    of every decoder layer's key / value projection output, / 127."""
    if executor == "torch":
        amax = calibrate(
            model, run=lambda m: transcribe(TorchRunner(m), tokenizer, audio), per_channel=False, output=True
        )
    elif executor == "reference":
        calibrator = NetworkCalibrator(per_channel=False, output=True)
        calls = {name: (lambda x, h=h: calibrator.evaluate(h, x)) for name, h in all_networks(model).items()}
        transcribe(NetworkRunner(calls, torch.float32, name="reference"), tokenizer, audio)
        amax = calibrator.amax
    else:
        raise ValueError(f"kv_cache_scales: executor must be 'torch' or 'reference', got {executor!r}")
    return tuple(
        cache_scale(
            max(float(v) for p, v in amax.items() if p.startswith("decoder.") and p.endswith(f".attn.{kv}")),
            f"kv_cache_scales ({kv})",
        )
        for kv in ("key", "value")
    )


class Int8CacheRunner(TorchRunner):
    """The PyTorch model with the int8 self-attention cache of a `decoder_network(kv_scales=...)`: the cache it
    returns is int8 (quantized on write) and dequantized to the model dtype when read."""

    name = "torch"

    def __init__(self, model, kv_scales):
        super().__init__(model, use_cache=True)
        self.kv_scales = tuple(kv_scales)

    def _write(self, k, v):
        return tuple(quantize_cache(t, s) for t, s in zip((k, v), self.kv_scales))

    @torch.no_grad()
    def prefix(self, context, tokens):
        logits, k, v = self.model.decoder(tokens.to(self.device), *context)
        return logits[:, -1].float().cpu(), self._write(k, v)

    @torch.no_grad()
    def step(self, context, tokens, cache):
        past = (dequantize_cache(q, s, self.dtype) for q, s in zip(cache, self.kv_scales))
        logits, k, v = self.model.decoder(tokens.to(self.device), *context, *past)
        return logits[:, -1].float().cpu(), self._write(k, v)


def smoothquant_groups(model):
    """SmoothQuant's (LayerNorm path, [linear paths it feeds]) groups of Whisper: each block's attn_ln → q/k/v,
    mlp_ln → fc1, a decoder block's cross_attn_ln → its query, and the encoder's ln_post → every cross-attention
    key/value. The out projections and fc2 (after GELU) get int8 weights and inputs without smoothing."""
    groups = []
    for side, blocks in (("encoder", model.encoder.blocks), ("decoder", model.decoder.blocks)):
        for i in range(len(blocks)):
            path = f"{side}.blocks.{i}"
            groups.append((f"{path}.attn_ln", [f"{path}.attn.{p}" for p in ("query", "key", "value")]))
            if side == "decoder":
                groups.append((f"{path}.cross_attn_ln", [f"{path}.cross_attn.query"]))
            groups.append((f"{path}.mlp_ln", [f"{path}.mlp.0"]))
    cross = [f"decoder.blocks.{i}.cross_attn.{p}" for i in range(len(model.decoder.blocks)) for p in ("key", "value")]
    groups.append(("encoder.ln_post", cross))
    return groups


def awq_groups(model):
    """trt_helper.quant.awq_quantize's groups of Whisper. Per block: q/k/v scored on the whole block (the key and
    value projections run outside the attention module) and folded into attn_ln; each out projection folded into
    its value projection's rows; a decoder block's cross-attention query scored on the cross-attention and folded
    into cross_attn_ln; fc1 scored on the MLP and folded into mlp_ln; fc2 (after GELU) multiplies its input at run
    time. The cross-attention keys/values (computed once from the encoder output) are only clipped."""
    groups = []
    for side, blocks in (("encoder", model.encoder.blocks), ("decoder", model.decoder.blocks)):
        for i in range(len(blocks)):
            path = f"{side}.blocks.{i}"
            attns = ("attn", "cross_attn") if side == "decoder" else ("attn",)
            for attn in attns:
                a = f"{path}.{attn}"
                if attn == "attn":
                    groups.append((path, [f"{a}.query", f"{a}.key", f"{a}.value"], f"{path}.attn_ln"))
                else:
                    groups.append((a, [f"{a}.query"], f"{path}.cross_attn_ln"))
                groups.append((f"{a}.out", [f"{a}.out"], f"{a}.value"))
            groups.append((f"{path}.mlp", [f"{path}.mlp.0"], f"{path}.mlp_ln"))
            groups.append((f"{path}.mlp.2", [f"{path}.mlp.2"]))
    return groups
