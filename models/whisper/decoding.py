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
    """Token ids and thresholds the greedy loop needs; `from_tokenizer` fills them for a vocabulary."""

    prompt: tuple
    eot: int
    suppress: tuple
    begin_suppress: tuple
    no_speech: int = None
    max_new_tokens: int = 224

    @classmethod
    def from_tokenizer(cls, tokenizer, max_new_tokens=224):
        return cls(
            prompt=tuple(tokenizer.sot_sequence()),
            eot=tokenizer.eot,
            suppress=tuple(tokenizer.suppress_tokens()),
            begin_suppress=tuple(tokenizer.begin_suppress_tokens()),
            no_speech=tokenizer.no_speech,
            max_new_tokens=max_new_tokens,
        )


@dataclass
class Decoded:
    """One row's result: tokens without prompt and eot; avg_logprob = sum of the sampled tokens' log-probabilities
    (eot included) / (len(tokens) + 1); no_speech_prob = P(<|nospeech|>) at the sot position (openai's)."""

    tokens: list
    avg_logprob: float
    no_speech_prob: float


@torch.no_grad()
def greedy_decode(runner, mel, rules):
    """Greedy decoding of each row of mel (B, n_mels, 3000); a list of Decoded.

    The prompt is fed as [sot] first and then token by token, so the sot position's logits (for no_speech_prob)
    come out of the same calls that fill the cache.
    """
    batch = mel.shape[0]
    context = runner.audio_context(mel)
    prompt = torch.tensor([rules.prompt] * batch, dtype=torch.int64)
    logits, cache = runner.prefix(context, prompt[:, :1])
    no_speech_prob = (
        logits.softmax(dim=-1)[:, rules.no_speech]
        if rules.no_speech is not None
        else torch.full((batch,), float("nan"))
    )
    for length in range(2, prompt.shape[1] + 1):
        if runner.use_cache:
            logits, cache = runner.step(context, prompt[:, length - 1 : length], cache)
        else:
            logits, cache = runner.prefix(context, prompt[:, :length])
    tokens = prompt
    finished = torch.zeros(batch, dtype=torch.bool)
    sum_logprobs = torch.zeros(batch, dtype=torch.float64)
    suppress = torch.tensor(rules.suppress, dtype=torch.int64)
    begin_suppress = torch.tensor(rules.begin_suppress, dtype=torch.int64)
    for index in range(rules.max_new_tokens):
        if index > 0:
            if runner.use_cache:
                logits, cache = runner.step(context, tokens[:, -1:], cache)
            else:
                logits, cache = runner.prefix(context, tokens)
        logits = logits.clone()
        logits[:, suppress] = -float("inf")
        if index == 0:
            logits[:, begin_suppress] = -float("inf")
        next_tokens = logits.argmax(dim=-1)
        logprobs = logits.log_softmax(dim=-1).gather(1, next_tokens[:, None])[:, 0].double()
        sum_logprobs += torch.where(finished, 0.0, logprobs)
        next_tokens[finished] = rules.eot
        finished |= next_tokens == rules.eot
        tokens = torch.cat([tokens, next_tokens[:, None]], dim=1)
        if bool(finished.all()):
            break
    results = []
    for row, total, no_speech in zip(
        tokens[:, len(rules.prompt) :].tolist(), sum_logprobs.tolist(), no_speech_prob.tolist()
    ):
        row = row[: row.index(rules.eot)] if rules.eot in row else row
        results.append(Decoded(row, total / (len(row) + 1), no_speech))
    return results


class LongAudioError(ValueError):
    """Audio longer than Whisper's 30 s window, with chunking off."""


def split_windows(samples, long_audio, name="audio"):
    """30 s windows of one waveform: [samples] when it fits; else LongAudioError or consecutive windows."""
    if len(samples) <= N_SAMPLES:
        return [samples]
    if long_audio != "chunk":
        raise LongAudioError(
            f"{name}: {len(samples) / SAMPLE_RATE:.2f} s is longer than Whisper's 30 s window; "
            "pass long_audio='chunk' (--long-audio chunk) to cut it into consecutive 30 s windows"
        )
    return [samples[start : start + N_SAMPLES] for start in range(0, len(samples), N_SAMPLES)]


def transcribe(
    runner,
    tokenizer,
    audios,
    batch_size=1,
    long_audio="error",
    rules=None,
    no_speech_threshold=0.6,
    logprob_threshold=-1.0,
    padding="mel",
):
    """Transcribe paths or 16 kHz float32 arrays; one dict {"text", "tokens", ...} per input, in order.

    long_audio: "error" (default) raises LongAudioError for inputs over 30 s; "chunk" decodes consecutive 30 s
    windows independently (no overlap, words at a cut may be lost or split) and joins their tokens.
    A window whose no_speech_prob > no_speech_threshold and avg_logprob < logprob_threshold is taken as no
    speech and gives no tokens (openai's and faster-whisper's rule; None turns it off). Each result also has
    "no_speech_prob" and "avg_logprob" (of its last window) and, when a window was dropped, "no_speech": true.
    padding: how a window shorter than 30 s becomes 3000 mel frames (see audio.log_mel_spectrogram).
    """
    if batch_size < 1:
        raise ValueError(f"transcribe: batch_size must be >= 1, got {batch_size}")
    if long_audio not in ("error", "chunk"):
        raise ValueError(f"transcribe: long_audio must be 'error' or 'chunk', got {long_audio!r}")
    rules = rules or DecodingRules.from_tokenizer(tokenizer)
    windows, owners = [], []
    for index, audio in enumerate(audios):
        is_path = not hasattr(audio, "shape")
        samples = load_audio(audio) if is_path else audio
        for window in split_windows(samples, long_audio, name=str(audio) if is_path else f"input {index}"):
            windows.append(window)
            owners.append(index)
    decoded = []
    for start in range(0, len(windows), batch_size):
        decoded.extend(
            greedy_decode(runner, log_mel_spectrogram(windows[start : start + batch_size], padding=padding), rules)
        )
    return merge_windows(decoded, owners, len(audios), tokenizer, no_speech_threshold, logprob_threshold)


def merge_windows(decoded, owners, count, tokenizer, no_speech_threshold=0.6, logprob_threshold=-1.0):
    """Result dicts of `count` inputs from their windows' Decoded (owners[i] = input of window i), applying the
    no-speech gate of `transcribe`."""
    results = [{"text": "", "tokens": []} for _ in range(count)]
    for owner, window in zip(owners, decoded):
        result = results[owner]
        silent = (
            no_speech_threshold is not None
            and window.no_speech_prob > no_speech_threshold
            and window.avg_logprob < logprob_threshold
        )
        if silent:
            result["no_speech"] = True
        else:
            result["tokens"] = result["tokens"] + window.tokens
        result["no_speech_prob"] = round(window.no_speech_prob, 6)
        result["avg_logprob"] = round(window.avg_logprob, 6)
    for result in results:
        result["text"] = tokenizer.decode(result["tokens"]).strip()
    return results
