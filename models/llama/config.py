"""The numbers that define a LLaMA-architecture decoder, read from GGUF metadata or a Hugging Face config.json."""

from dataclasses import asdict, dataclass, fields

import torch


class ConfigError(ValueError):
    """A config that this port cannot run (missing key, inconsistent sizes, unsupported RoPE scaling)."""


@dataclass(frozen=True)
class LlamaConfig:
    """Hugging Face LlamaConfig's field names; ``head_dim`` defaults to hidden_size / num_attention_heads."""

    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5
    max_position_embeddings: int = 2048
    tie_word_embeddings: bool = True
    attention_bias: bool = False
    mlp_bias: bool = False
    bos_token_id: int | None = None
    eos_token_id: int | None = None
    pad_token_id: int | None = None

    def __post_init__(self):
        for name in (
            "vocab_size",
            "hidden_size",
            "intermediate_size",
            "num_hidden_layers",
            "num_attention_heads",
            "num_key_value_heads",
            "head_dim",
            "max_position_embeddings",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"LlamaConfig.{name} must be a positive int, got {value!r}")
        if self.num_attention_heads % self.num_key_value_heads:
            raise ConfigError(
                f"LlamaConfig: num_attention_heads {self.num_attention_heads} is not a multiple of "
                f"num_key_value_heads {self.num_key_value_heads}"
            )
        if self.head_dim % 2:
            raise ConfigError(f"LlamaConfig: head_dim must be even for RoPE, got {self.head_dim}")

    @property
    def groups(self):
        """Query heads per key/value head (GQA); query head h reads key/value head h // groups."""
        return self.num_attention_heads // self.num_key_value_heads

    def inv_freq(self):
        """RoPE inverse frequencies theta^(-2i/head_dim), float32 (Hugging Face's default rope type)."""
        return 1.0 / (self.rope_theta ** (torch.arange(0, self.head_dim, 2, dtype=torch.int64).float() / self.head_dim))

    def as_dict(self):
        return asdict(self)

    @classmethod
    def from_gguf(cls, metadata):
        """From GGUF key/values ({"llama.block_count": 30, ...}); the architecture must be llama."""
        arch = metadata.get("general.architecture")
        if arch != "llama":
            raise ConfigError(f"GGUF general.architecture is {arch!r}; this port reads 'llama'")

        def key(name, default=None):
            value = metadata.get(f"llama.{name}", default)
            if value is None:
                raise ConfigError(f"GGUF metadata has no llama.{name}")
            return value

        heads = int(key("attention.head_count"))
        hidden = int(key("embedding_length"))
        vocab = metadata.get("llama.vocab_size") or len(metadata.get("tokenizer.ggml.tokens", ()))
        return cls(
            vocab_size=int(vocab),
            hidden_size=hidden,
            intermediate_size=int(key("feed_forward_length")),
            num_hidden_layers=int(key("block_count")),
            num_attention_heads=heads,
            num_key_value_heads=int(key("attention.head_count_kv", heads)),
            head_dim=int(key("rope.dimension_count", hidden // heads)),
            rope_theta=float(key("rope.freq_base", 10000.0)),
            rms_norm_eps=float(key("attention.layer_norm_rms_epsilon")),
            max_position_embeddings=int(key("context_length")),
            tie_word_embeddings=not metadata.get("has_output_weight", False),
            bos_token_id=metadata.get("tokenizer.ggml.bos_token_id"),
            eos_token_id=metadata.get("tokenizer.ggml.eos_token_id"),
            pad_token_id=metadata.get("tokenizer.ggml.padding_token_id"),
        )

    @classmethod
    def from_hf(cls, config):
        """From a Hugging Face config.json dict (model_type llama; rope_theta or rope_parameters; default RoPE)."""
        if config.get("model_type", "llama") != "llama":
            raise ConfigError(f"config.json model_type is {config.get('model_type')!r}; this port reads 'llama'")
        rope = config.get("rope_parameters") or config.get("rope_scaling") or {}
        kind = rope.get("rope_type", rope.get("type", "default"))
        if kind != "default":
            raise ConfigError(f"config.json rope_type {kind!r} is not supported (only the default RoPE)")
        if config.get("hidden_act", "silu") != "silu":
            raise ConfigError(f"config.json hidden_act {config['hidden_act']!r} is not supported (only silu)")
        heads = config["num_attention_heads"]
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in config.items() if k in names and v is not None}
        values.setdefault("num_key_value_heads", heads)
        values["head_dim"] = config.get("head_dim") or config["hidden_size"] // heads
        values["rope_theta"] = float(rope.get("rope_theta", config.get("rope_theta", 10000.0)))
        for name in ("bos_token_id", "eos_token_id", "pad_token_id"):
            if isinstance(values.get(name), list):
                values[name] = values[name][0]
        try:
            return cls(**values)
        except TypeError as error:
            raise ConfigError(f"config.json: {error}") from None
