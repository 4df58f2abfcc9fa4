"""Whisper model dimensions (openai/whisper `ModelDimensions`) and the sizes we know by name."""

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class ModelDimensions:
    """The ten numbers that define a Whisper model, with openai's field names.

    >>> ModelDimensions.preset("tiny.en").n_text_state
    384
    """

    n_mels: int
    n_audio_ctx: int
    n_audio_state: int
    n_audio_head: int
    n_audio_layer: int
    n_vocab: int
    n_text_ctx: int
    n_text_state: int
    n_text_head: int
    n_text_layer: int

    def __post_init__(self):
        for field in fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"ModelDimensions.{field.name} must be a positive int, got {value!r}")
        for state, head, side in (
            (self.n_audio_state, self.n_audio_head, "audio"),
            (self.n_text_state, self.n_text_head, "text"),
        ):
            if state % head:
                raise ValueError(f"ModelDimensions: n_{side}_state {state} is not divisible by n_{side}_head {head}")

    @property
    def is_multilingual(self):
        return self.n_vocab >= 51865

    def as_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, values):
        names = [field.name for field in fields(cls)]
        missing = [name for name in names if name not in values]
        if missing:
            raise ValueError(f"ModelDimensions: missing {missing}")
        return cls(**{name: int(values[name]) for name in names})

    @classmethod
    def preset(cls, name):
        """Dimensions for tiny/base/small/medium (".en" gives the 51864-token English vocabulary)."""
        size, english = (name[:-3], True) if name.endswith(".en") else (name, False)
        if size not in _SIZES:
            raise ValueError(f"unknown Whisper size {name!r}; known: " + ", ".join(f"{s}, {s}.en" for s in _SIZES))
        state, head, layer = _SIZES[size]
        return cls(
            n_mels=80,
            n_audio_ctx=1500,
            n_audio_state=state,
            n_audio_head=head,
            n_audio_layer=layer,
            n_vocab=51864 if english else 51865,
            n_text_ctx=448,
            n_text_state=state,
            n_text_head=head,
            n_text_layer=layer,
        )


# size: (n_state, n_head, n_layer), the same for encoder and decoder (research/whisper.md §1.1)
_SIZES = {"tiny": (384, 6, 4), "base": (512, 8, 6), "small": (768, 12, 12), "medium": (1024, 16, 24)}
PRESETS = tuple(f"{size}{suffix}" for size in _SIZES for suffix in (".en", ""))
