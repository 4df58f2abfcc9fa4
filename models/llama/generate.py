"""Generation over a pluggable runner: greedy or sampled (temperature, top-k, top-p, seed), stop on eos or after
max_new_tokens. Prompts of different lengths share a batch by left padding (``pad`` counts each row's padding).

A runner gives the last position's logits of a prompt batch (``prefill``, which also returns the cache) and of one
new token per row after a cache (``step``). ``TorchRunner`` runs our PyTorch model; models.llama.networks has the
reference-executor and TensorRT ones.
"""

from dataclasses import dataclass

import torch


class Runner:
    """What :func:`generate` needs."""

    name = "abstract"

    def prefill(self, input_ids, pad):
        """Logits (B, vocab) float32 of the last position of ``input_ids`` (B, T), and the cache."""
        raise NotImplementedError

    def step(self, input_ids, pad, cache):
        """Logits of one new token per row (``input_ids`` (B, 1)) after ``cache``, and the grown cache."""
        raise NotImplementedError


class TorchRunner(Runner):
    """Our PyTorch model with its explicit cache."""

    name = "torch"

    def __init__(self, model):
        self.model = model

    @torch.no_grad()
    def prefill(self, input_ids, pad):
        logits, k, v = self.model(input_ids, pad=pad)
        return logits[:, -1].float(), (k, v)

    @torch.no_grad()
    def step(self, input_ids, pad, cache):
        logits, k, v = self.model(input_ids, *cache, pad=pad)
        return logits[:, -1].float(), (k, v)


@dataclass(frozen=True)
class Sampling:
    """temperature 0 = greedy (argmax); else softmax(logits / temperature) restricted to the top_k tokens (0 = all)
    and to the smallest set whose probability reaches top_p (1.0 = all), drawn with a generator seeded by seed."""

    max_new_tokens: int = 32
    temperature: float = 0.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int = 0

    def __post_init__(self):
        if not isinstance(self.max_new_tokens, int) or self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be a positive int, got {self.max_new_tokens!r}")
        if self.temperature < 0 or self.top_k < 0 or not 0 < self.top_p <= 1:
            raise ValueError(
                f"need temperature >= 0, top_k >= 0, 0 < top_p <= 1; got {self.temperature}, {self.top_k}, {self.top_p}"
            )


def pick(logits, sampling, generator):
    """Next token per row (B,) from float32 logits (B, vocab)."""
    if sampling.temperature == 0:
        return logits.argmax(dim=-1)
    logits = logits / sampling.temperature
    if sampling.top_k:
        kth = logits.topk(min(sampling.top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if sampling.top_p < 1:
        ordered, order = logits.sort(dim=-1, descending=True)
        before = ordered.softmax(dim=-1).cumsum(dim=-1) - ordered.softmax(dim=-1)  # mass of the better tokens
        drop = torch.zeros_like(logits, dtype=torch.bool).scatter(1, order, before >= sampling.top_p)
        logits = logits.masked_fill(drop, float("-inf"))
    return torch.multinomial(logits.softmax(dim=-1), 1, generator=generator)[:, 0]


def left_pad(prompts, pad_id):
    """(input_ids (B, T) int64, pad (B,) int64) of token lists of different lengths, padded on the left."""
    if not prompts or any(len(p) == 0 for p in prompts):
        raise ValueError("every prompt needs at least one token")
    length = max(len(p) for p in prompts)
    pad = torch.tensor([length - len(p) for p in prompts], dtype=torch.int64)
    ids = torch.tensor([[pad_id] * (length - len(p)) + list(p) for p in prompts], dtype=torch.int64)
    return ids, pad


@torch.no_grad()
def generate(runner, prompts, eos_token_id, sampling=Sampling(), pad_id=None):
    """New tokens (without eos) for each prompt (a list of token-id lists), batched with left padding (with
    ``pad_id``, default eos or 0: padding is never attended to, so its value does not matter)."""
    ids, pad = left_pad(prompts, next(i for i in (pad_id, eos_token_id, 0) if i is not None))
    generator = torch.Generator().manual_seed(sampling.seed)
    logits, cache = runner.prefill(ids, pad)
    finished = torch.zeros(len(prompts), dtype=torch.bool)
    new = []
    for index in range(sampling.max_new_tokens):
        if index:
            logits, cache = runner.step(new[-1][:, None], pad, cache)
        tokens = pick(logits, sampling, generator)
        if eos_token_id is not None:
            tokens[finished] = eos_token_id
            finished |= tokens == eos_token_id
        new.append(tokens)
        if bool(finished.all()):
            break
    rows = torch.stack(new, dim=1).tolist()
    return [row[: row.index(eos_token_id)] if eos_token_id in row else row for row in rows]
