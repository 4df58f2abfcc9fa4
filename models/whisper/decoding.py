"""Greedy decoding for Whisper without timestamps, over a pluggable runner.

The rules are openai/whisper's `DecodingOptions(temperature=0, without_timestamps=True)` (and faster-whisper's
beam 1): prompt = sot sequence + <|notimestamps|>; at every step the non-speech symbols and control tokens
are suppressed; at the first step " " and eot are suppressed too; argmax; a row that emitted eot keeps
emitting eot; stop when every row has, or after 224 new tokens (n_text_ctx // 2).

A runner turns mel into an audio context (encoder output and cross-attention K/V) and gives the logits of the
last position, either for a whole prefix (`prefix`) or for new tokens after a self-attention cache (`step`).
`TorchRunner` runs our PyTorch model; models.whisper.networks has the reference-executor and TensorRT ones.
"""

from dataclasses import dataclass

import torch

from .audio import N_SAMPLES, SAMPLE_RATE, load_audio, log_mel_spectrogram


class Runner:
    """What greedy_decode needs; subclasses say how each piece runs.

    name: reported in results; use_cache: whether `step` is used (else `prefix` runs on the whole prefix
    at every step, the no-cache decoder).
    """

    name = "abstract"
    use_cache = True

    def audio_context(self, mel):
        """mel (B, n_mels, 3000) float32 -> an opaque per-utterance context (audio features, cross K/V)."""
        raise NotImplementedError

    def prefix(self, context, tokens):
        """Logits (B, n_vocab) float32 of the last position of `tokens` (B, T), and the self-attention cache."""
        raise NotImplementedError

    def step(self, context, tokens, cache):
        """Logits of the last of the new `tokens` (B, T_new) that follow `cache`, and the grown cache."""
        raise NotImplementedError


class TorchRunner(Runner):
    """Our PyTorch model, with (use_cache=True) or without its self-attention cache."""

    name = "torch"

    def __init__(self, model, use_cache=True):
        self.model, self.use_cache = model, use_cache
        parameter = next(model.parameters())
        self.device, self.dtype = parameter.device, parameter.dtype

    @torch.no_grad()
    def audio_context(self, mel):
        features = self.model.encoder(mel.to(self.device, self.dtype))
        return self.model.decoder.cross_kv(features)

    @torch.no_grad()
    def prefix(self, context, tokens):
        logits, k, v = self.model.decoder(tokens.to(self.device), *context)
        return logits[:, -1].float().cpu(), (k, v)

    @torch.no_grad()
    def step(self, context, tokens, cache):
        logits, k, v = self.model.decoder(tokens.to(self.device), *context, *cache)
        return logits[:, -1].float().cpu(), (k, v)


@dataclass(frozen=True)
class DecodingRules:
    """Token ids the greedy loop needs, from a WhisperTokenizer."""

    prompt: tuple
    eot: int
    suppress: tuple
    begin_suppress: tuple
    max_new_tokens: int = 224

    @classmethod
    def from_tokenizer(cls, tokenizer, max_new_tokens=224):
        return cls(prompt=tuple(tokenizer.sot_sequence()), eot=tokenizer.eot,
                   suppress=tuple(tokenizer.suppress_tokens()), begin_suppress=tuple(tokenizer.begin_suppress_tokens()),
                   max_new_tokens=max_new_tokens)


@torch.no_grad()
def greedy_decode(runner, mel, rules):
    """Token ids (without prompt, without eot) of each row of mel (B, n_mels, 3000)."""
    batch = mel.shape[0]
    context = runner.audio_context(mel)
    tokens = torch.tensor([rules.prompt] * batch, dtype=torch.int64)
    finished = torch.zeros(batch, dtype=torch.bool)
    suppress = torch.tensor(rules.suppress, dtype=torch.int64)
    begin_suppress = torch.tensor(rules.begin_suppress, dtype=torch.int64)
    cache = None
    for index in range(rules.max_new_tokens):
        if cache is None or not runner.use_cache:
            logits, cache = runner.prefix(context, tokens)
        else:
            logits, cache = runner.step(context, tokens[:, -1:], cache)
        logits = logits.clone()
        logits[:, suppress] = -float("inf")
        if index == 0:
            logits[:, begin_suppress] = -float("inf")
        next_tokens = logits.argmax(dim=-1)
        next_tokens[finished] = rules.eot
        finished |= next_tokens == rules.eot
        tokens = torch.cat([tokens, next_tokens[:, None]], dim=1)
        if bool(finished.all()):
            break
    generated = tokens[:, len(rules.prompt):].tolist()
    return [row[: row.index(rules.eot)] if rules.eot in row else row for row in generated]


class LongAudioError(ValueError):
    """Audio longer than Whisper's 30 s window, with chunking off."""


def split_windows(samples, long_audio, name="audio"):
    """30 s windows of one waveform: [samples] when it fits; else LongAudioError or consecutive windows."""
    if len(samples) <= N_SAMPLES:
        return [samples]
    if long_audio != "chunk":
        raise LongAudioError(f"{name}: {len(samples) / SAMPLE_RATE:.2f} s is longer than Whisper's 30 s window; "
                             "pass long_audio='chunk' (--long-audio chunk) to cut it into consecutive 30 s windows")
    return [samples[start: start + N_SAMPLES] for start in range(0, len(samples), N_SAMPLES)]


def transcribe(runner, tokenizer, audios, batch_size=1, long_audio="error", rules=None):
    """Transcribe paths or 16 kHz float32 arrays; one dict {"text", "tokens"} per input, in order.

    long_audio: "error" (default) raises LongAudioError for inputs over 30 s; "chunk" decodes consecutive 30 s
    windows independently (no overlap, words at a cut may be lost or split) and joins their tokens.
    """
    if batch_size < 1:
        raise ValueError(f"transcribe: batch_size must be >= 1, got {batch_size}")
    if long_audio not in ("error", "chunk"):
        raise ValueError(f"transcribe: long_audio must be 'error' or 'chunk', got {long_audio!r}")
    rules = rules or DecodingRules.from_tokenizer(tokenizer)
    windows, owners = [], []
    for index, audio in enumerate(audios):
        samples = load_audio(audio) if not hasattr(audio, "shape") else audio
        for window in split_windows(samples, long_audio, name=str(audio) if not hasattr(audio, "shape") else
                                    f"input {index}"):
            windows.append(window)
            owners.append(index)
    window_tokens = []
    for start in range(0, len(windows), batch_size):
        mel = log_mel_spectrogram(windows[start: start + batch_size])
        window_tokens.extend(greedy_decode(runner, mel, rules))
    results = [[] for _ in audios]
    for owner, tokens in zip(owners, window_tokens):
        results[owner].extend(tokens)
    return [{"text": tokenizer.decode(tokens).strip(), "tokens": tokens} for tokens in results]
