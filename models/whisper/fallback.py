"""Temperature fallback (openai/whisper `decode_with_fallback`, faster-whisper `generate_with_fallback`).

Each temperature in turn (beam search or greedy at 0, best-of-N sampling above): a row's result fails when its
text's gzip compression ratio > compression_ratio_threshold (too repetitive) or its avg_logprob <
log_prob_threshold, unless no_speech_prob > no_speech_threshold and avg_logprob < log_prob_threshold (silence,
kept). Failed rows are searched again at the next temperature; a row that fails at every temperature keeps the
result with the best avg_logprob among those under the compression threshold (else among all).
"""

import zlib
from dataclasses import dataclass, replace

import torch

from .search import SearchOptions, search

DEFAULT_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def compression_ratio(text):
    """len(utf-8 bytes) / len(zlib-compressed bytes), as both peers compute it."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


@dataclass(frozen=True)
class FallbackOptions:
    temperatures: tuple = (0.0,)
    compression_ratio_threshold: float = 2.4
    log_prob_threshold: float = -1.0
    no_speech_threshold: float = 0.6


@dataclass
class WindowResult:
    hypothesis: object
    temperature: float
    compression_ratio: float


def _fails(hypothesis, ratio, fallback):
    fails = False
    if fallback.compression_ratio_threshold is not None and ratio > fallback.compression_ratio_threshold:
        fails = True
    low = fallback.log_prob_threshold is not None and hypothesis.avg_logprob < fallback.log_prob_threshold
    if low:
        fails = True
    if fallback.no_speech_threshold is not None and hypothesis.no_speech_prob > fallback.no_speech_threshold and low:
        fails = False
    return fails


def decode_with_fallback(runner, context, prompts, sot_index, tokenizer, options, fallback, seeds):
    """A WindowResult per row of the audio context; seeds[b] seeds row b's sampling (with the temperature)."""
    batch = len(prompts)
    attempts = [[] for _ in range(batch)]
    pending = list(range(batch))
    final = [None] * batch
    for temperature in fallback.temperatures:
        if not pending:
            break
        index = torch.tensor(pending, dtype=torch.int64)
        sub_context = tuple(t.index_select(1, index.to(t.device)) for t in context)
        sub_options = replace(options, temperature=temperature)
        row_seeds = [seeds[b] * 131 + int(round(temperature * 100)) for b in pending]
        hypotheses = search(
            runner, sub_context, [prompts[b] for b in pending], sot_index, tokenizer, sub_options, seeds=row_seeds
        )
        still = []
        for b, hypothesis in zip(pending, hypotheses):
            ratio = compression_ratio(tokenizer.decode(hypothesis.tokens).strip())
            result = WindowResult(hypothesis, temperature, ratio)
            attempts[b].append(result)
            if _fails(hypothesis, ratio, fallback):
                still.append(b)
            else:
                final[b] = result
        pending = still
    for b in pending:
        under = [
            a
            for a in attempts[b]
            if fallback.compression_ratio_threshold is None
            or a.compression_ratio <= fallback.compression_ratio_threshold
        ]
        best = max(under or attempts[b], key=lambda a: a.hypothesis.avg_logprob)
        final[b] = WindowResult(best.hypothesis, fallback.temperatures[-1], best.compression_ratio)
    return final


__all__ = [
    "DEFAULT_TEMPERATURES",
    "FallbackOptions",
    "WindowResult",
    "compression_ratio",
    "decode_with_fallback",
    "SearchOptions",
]
