"""Transcription requests: several files decoded as one batch, language detection, timestamps, long-form seeking.

`transcribe_files` follows faster-whisper's `generate_segments` (openai/whisper's `transcribe` seeking):
- each file's log-mel is computed once over the whole file (faster-whisper's features: 160 zero samples
  appended, N // 160 content frames); a window is mel[:, seek : seek + 3000], zero-padded to 3000 frames;
- with timestamps, a window's tokens are cut into segments at consecutive timestamp pairs; when the window ends
  with a single timestamp the next window starts after it, else at the last pair's timestamp (the unfinished
  segment is decoded again); without timestamps a window is one segment and seek moves 3000 frames;
- the prompt is [<|startofprev|>, last 223 tokens of earlier segments] (condition_on_previous_text, reset
  when a window needed a temperature > prompt_reset_on_temperature) + the sot sequence (+ <|notimestamps|>);
- a window with no_speech_prob > no_speech_threshold whose avg_logprob is not above log_prob_threshold is
  skipped; segments with start == end or blank text are dropped.
Files over 30 s: long_audio "sequential" seeks as above, "chunk" decodes consecutive 30 s pieces independently
(each its own file, times offset), "error" raises LongAudioError. All files advance in lock step: at each round
every unfinished file's next window is decoded, grouped into batches of rows with the same prompt length.
"""

from dataclasses import dataclass, field

import numpy as np
import torch

from .audio import HOP_LENGTH, N_FRAMES, N_SAMPLES, SAMPLE_RATE, _log_mel, load_audio
from .decoding import LongAudioError
from .fallback import FallbackOptions, decode_with_fallback
from .language import detect_language
from .search import TIME_PRECISION, SearchOptions

FRAME_SECONDS = HOP_LENGTH / SAMPLE_RATE  # 0.01 s per mel frame
INPUT_STRIDE = 2  # mel frames per timestamp step (0.02 s)


@dataclass(frozen=True)
class TranscribeOptions:
    """What `transcribe_files` does; defaults are faster-whisper's except beam_size 1 and a single temperature."""

    language: str = None  # None: detect (multilingual) / "en" (.en)
    task: str = "transcribe"
    search: SearchOptions = SearchOptions()
    fallback: FallbackOptions = FallbackOptions()
    condition_on_previous_text: bool = True
    prompt_reset_on_temperature: float = 0.5
    long_audio: str = "error"
    seed: int = 0

    def __post_init__(self):
        if self.long_audio not in ("error", "chunk", "sequential"):
            raise ValueError(f"long_audio must be 'error', 'chunk' or 'sequential', got {self.long_audio!r}")
        if self.task not in ("transcribe", "translate"):
            raise ValueError(f"task must be 'transcribe' or 'translate', got {self.task!r}")


def whole_mel(samples, n_mels=80):
    """faster-whisper's features of a whole file: (n_mels, N // 160 + 1), the last frame beyond the content."""
    waveform = torch.nn.functional.pad(torch.as_tensor(np.asarray(samples, dtype=np.float32)), (0, HOP_LENGTH))
    return _log_mel(waveform[None], n_mels)[0]


def window(mel, seek, size):
    """(1, n_mels, 3000): mel[:, seek : seek + size] zero-padded (faster-whisper's pad_or_trim of features)."""
    piece = mel[:, seek : seek + size]
    return torch.nn.functional.pad(piece, (0, N_FRAMES - piece.shape[1]))[None]


def detection_window(mel):
    """The language-detection window: mel[:, :3000] zero-padded, as faster-whisper slices it (for a clip under
    30 s it holds one frame more than the first decoded window, which changes probabilities by up to ~0.02)."""
    return window(mel, 0, N_FRAMES)


def split_segments(tokens, timestamp_begin, time_offset, seek, segment_size):
    """(segments [(start, end, tokens)], next seek) of one window's tokens (faster-whisper's rules)."""
    single_ending = len(tokens) >= 2 and tokens[-2] < timestamp_begin <= tokens[-1]
    consecutive = [
        i for i in range(1, len(tokens)) if tokens[i] >= timestamp_begin and tokens[i - 1] >= timestamp_begin
    ]
    segments = []
    if consecutive:
        slices = consecutive + ([len(tokens)] if single_ending else [])
        last = 0
        for current in slices:
            piece = tokens[last:current]
            segments.append(
                (
                    time_offset + (piece[0] - timestamp_begin) * TIME_PRECISION,
                    time_offset + (piece[-1] - timestamp_begin) * TIME_PRECISION,
                    piece,
                )
            )
            last = current
        if single_ending:
            seek += segment_size
        else:
            seek += (tokens[last - 1] - timestamp_begin) * INPUT_STRIDE
    else:
        duration = segment_size * FRAME_SECONDS
        stamps = [t for t in tokens if t >= timestamp_begin]
        if stamps and stamps[-1] != timestamp_begin:
            duration = (stamps[-1] - timestamp_begin) * TIME_PRECISION
        segments.append((time_offset, time_offset + duration, tokens))
        seek += segment_size
    return segments, seek


@dataclass
class _File:
    mel: torch.Tensor
    offset: float = 0.0  # seconds (chunk mode)
    seek: int = 0
    tokens: list = field(default_factory=list)
    reset_since: int = 0
    segments: list = field(default_factory=list)
    language: str = None
    language_probability: float = None
    last: object = None
    context: tuple = None  # audio context of the window at seek 0, kept from language detection
    no_speech: bool = False  # a window was skipped as silence

    @property
    def content_frames(self):
        return self.mel.shape[1] - 1


def _prompt(tokenizer, item, options):
    previous = item.tokens[item.reset_since :] if options.condition_on_previous_text else []
    prompt = [tokenizer.sot_prev] + previous[-223:] if previous else []
    sot_index = len(prompt)
    prompt += tokenizer.sot_sequence(
        item.language or "en", without_timestamps=not options.search.timestamps, task=options.task
    )
    return prompt, sot_index


def _step(runner, tokenizer, items, options, batch_size):
    """Decode the next window of every item (grouped by prompt length, batches of batch_size) and seek."""
    jobs = []
    for item in items:
        size = min(N_FRAMES, item.content_frames - item.seek)
        prompt, sot_index = _prompt(tokenizer, item, options)
        jobs.append((item, size, prompt, sot_index))
    for length in sorted({len(j[2]) for j in jobs}):
        group = [j for j in jobs if len(j[2]) == length]
        for start in range(0, len(group), batch_size):
            batch = group[start : start + batch_size]
            for sot_index in sorted({j[3] for j in batch}):
                rows = [j for j in batch if j[3] == sot_index]
                context = _contexts(runner, [(j[0], j[1]) for j in rows])
                seeds = [options.seed * 1000003 + j[0].seek for j in rows]
                results = decode_with_fallback(
                    runner, context, [j[2] for j in rows], sot_index, tokenizer, options.search, options.fallback, seeds
                )
                for (item, size, _, _), result in zip(rows, results):
                    _advance(item, size, result, tokenizer, options)


def _contexts(runner, rows):
    """The runner's audio context of each (item, size)'s current window, reusing language detection's."""
    if all(item.seek == 0 and item.context is not None for item, _ in rows):
        parts = [item.context for item, _ in rows]
        for item, _ in rows:
            item.context = None
        return tuple(torch.cat([part[i] for part in parts], dim=1) for i in range(len(parts[0])))
    return runner.audio_context(torch.cat([window(item.mel, item.seek, size) for item, size in rows]))


def _advance(item, size, result, tokenizer, options):
    hypothesis, fallback = result.hypothesis, options.fallback
    item.last = result
    time_offset = item.seek * FRAME_SECONDS
    if (
        fallback.no_speech_threshold is not None
        and hypothesis.no_speech_prob > fallback.no_speech_threshold
        and not (fallback.log_prob_threshold is not None and hypothesis.avg_logprob > fallback.log_prob_threshold)
    ):
        item.seek += size
        item.no_speech = True
        return
    segments, item.seek = split_segments(hypothesis.tokens, tokenizer.timestamp_begin, time_offset, item.seek, size)
    for start, end, tokens in segments:
        text = tokenizer.decode(tokens)
        if start == end or not text.strip():
            continue
        item.tokens.extend(tokens)
        item.segments.append(
            {"start": round(item.offset + start, 3), "end": round(item.offset + end, 3), "text": text, "tokens": tokens}
        )
    if not options.condition_on_previous_text or result.temperature > options.prompt_reset_on_temperature:
        item.reset_since = len(item.tokens)


def _pieces(samples, long_audio, name):
    if len(samples) <= N_SAMPLES or long_audio == "sequential":
        return [(samples, 0.0)]
    if long_audio == "error":
        raise LongAudioError(
            f"{name}: {len(samples) / SAMPLE_RATE:.2f} s is longer than Whisper's 30 s window; "
            "pass --long-audio sequential (timestamp seeking) or chunk (independent 30 s windows)"
        )
    return [(samples[s : s + N_SAMPLES], s / SAMPLE_RATE) for s in range(0, len(samples), N_SAMPLES)]


@torch.no_grad()
def transcribe_files(runner, tokenizer, audios, options=TranscribeOptions(), batch_size=8):
    """One result dict per input (paths or 16 kHz float32 arrays), in order; see the module docstring.

    A result has "text", "tokens", "segments" [{"start", "end", "text", "tokens"}], "language",
    "language_probability", "no_speech": true when a window was skipped as silence, and the last window's
    "no_speech_prob", "avg_logprob", "temperature", "compression_ratio"; an input that cannot be used has "error".
    """
    if batch_size < 1:
        raise ValueError(f"transcribe_files: batch_size must be >= 1, got {batch_size}")
    results = []
    for start in range(0, len(audios), batch_size):  # lock step within groups of batch_size inputs
        results.extend(
            _transcribe_group(runner, tokenizer, audios[start : start + batch_size], start, options, batch_size)
        )
    return results


def _transcribe_group(runner, tokenizer, audios, first_index, options, batch_size):
    owners, items, results = [], [], [None] * len(audios)
    for index, audio in enumerate(audios):
        name = str(audio) if not hasattr(audio, "shape") else f"input {first_index + index}"
        try:
            samples = load_audio(audio) if not hasattr(audio, "shape") else audio
            pieces = _pieces(samples, options.long_audio, name)
        except (LongAudioError, ValueError) as error:
            results[index] = {"error": str(error)}
            continue
        for samples, offset in pieces:
            items.append(_File(whole_mel(samples), offset))
            owners.append(index)
    _set_languages(runner, tokenizer, items, owners, options, batch_size)
    while True:
        live = [item for item in items if item.seek < item.content_frames]
        if not live:
            break
        _step(runner, tokenizer, live, options, batch_size)
    for index in range(len(audios)):
        if results[index] is None:
            results[index] = _merge([item for item, owner in zip(items, owners) if owner == index], tokenizer)
    return results


def _set_languages(runner, tokenizer, items, owners, options, batch_size):
    """Each item's language: the option, "en" for .en models, else detected on the file's first 30 s."""
    firsts = {}
    for item, owner in zip(items, owners):
        firsts.setdefault(owner, item)
    todo = list(firsts.values())
    if options.language is not None or not tokenizer.is_multilingual:
        for item in items:
            item.language, item.language_probability = options.language or "en", 1.0
        return
    for start in range(0, len(todo), batch_size):
        batch = todo[start : start + batch_size]
        context = runner.audio_context(torch.cat([detection_window(item.mel) for item in batch]))
        for row, (item, (code, probability, _)) in enumerate(zip(batch, detect_language(runner, tokenizer, context))):
            item.language, item.language_probability = code, probability
            if item.content_frames >= N_FRAMES:  # the same window as the first decoded one
                item.context = tuple(t[:, row : row + 1] for t in context)
    for item, owner in zip(items, owners):
        item.language, item.language_probability = firsts[owner].language, firsts[owner].language_probability


def _merge(pieces, tokenizer):
    segments = [segment for piece in pieces for segment in piece.segments]
    tokens = [token for piece in pieces for token in piece.tokens]
    last = pieces[-1].last
    result = {
        "text": "".join(s["text"] for s in segments).strip(),
        "tokens": tokens,
        "segments": segments,
        "language": pieces[0].language,
        "language_probability": round(pieces[0].language_probability, 6),
    }
    if any(piece.no_speech for piece in pieces):
        result["no_speech"] = True
    if last is not None:
        result.update(
            no_speech_prob=round(last.hypothesis.no_speech_prob, 6),
            avg_logprob=round(last.hypothesis.avg_logprob, 6),
            temperature=last.temperature,
            compression_ratio=round(last.compression_ratio, 4),
        )
    return result
