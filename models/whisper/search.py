"""Token search for one 30 s window per row: greedy, sampling (best of N) and beam search, with timestamp rules.

The rules are CTranslate2's Whisper generate as faster-whisper calls it (and openai/whisper's, where they agree):
- the prompt is fed first; no_speech_prob = P(<|nospeech|>) at the sot position;
- at most min(224, 448 - (len(prompt) - 1)) new tokens;
- every step: the suppress list (non-speech symbols, control tokens) is masked; the first step also masks
  " " and eot (suppress_blank); with timestamps, CTranslate2's ApplyTimestampRules (notimestamps masked; the
  first token a timestamp <= max_initial_timestamp; timestamps in pairs except before eot; never decreasing;
  text masked when the timestamp tokens' summed probability beats every text token);
- beam search: 2K candidates from the flattened (beam, vocab) log-probabilities; a candidate among the first K
  that is eot finishes a hypothesis (score = cumulative log-probability including eot) and the next non-eot
  candidate takes its place; a row stops after round(K * patience) hypotheses; the best is the highest
  score / length ** length_penalty (length without eot);
- sampling (temperature > 0): best_of samples per row from softmax(logits / T), the best by the same score.
Rows that finish leave the batch (their cache rows are dropped), so a batch gives each row's single-row result.
"""

import math
from dataclasses import dataclass

import torch

TIME_PRECISION = 0.02  # seconds per timestamp token


@dataclass(frozen=True)
class SearchOptions:
    """How one window is searched (defaults: faster-whisper's, except beam_size 1)."""

    beam_size: int = 1
    patience: float = 1.0
    length_penalty: float = 1.0
    temperature: float = 0.0
    best_of: int = 5
    timestamps: bool = False
    max_initial_timestamp: float = 1.0
    suppress_blank: bool = True

    def __post_init__(self):
        if self.beam_size < 1 or self.best_of < 1:
            raise ValueError(f"SearchOptions: beam_size and best_of must be >= 1, got {self.beam_size}, {self.best_of}")
        if self.patience <= 0 or self.temperature < 0:
            raise ValueError(
                f"SearchOptions: need patience > 0 and temperature >= 0, got {self.patience}, {self.temperature}"
            )


@dataclass
class Hypothesis:
    """One row's result: tokens (no prompt, no eot), sum of their log-probabilities (eot included),
    avg_logprob = sum / (len + 1) (faster-whisper's), no_speech_prob at the sot position."""

    tokens: list
    sum_logprob: float
    avg_logprob: float
    no_speech_prob: float


class _Rows:
    """The decoder state of the live rows: audio context, self-attention cache, fed tokens; rows can be reordered."""

    def __init__(self, runner, context, prompts):
        self.runner, self.context = runner, context
        self.tokens = torch.as_tensor(prompts, dtype=torch.int64)
        self.cache = None

    def feed(self, upto):
        """Logits of position upto - 1 after feeding the prompt tokens before `upto` (the cache grows)."""
        if self.cache is None or not self.runner.use_cache:
            logits, self.cache = self.runner.prefix(self.context, self.tokens[:, :upto])
            self._fed = upto
            return logits
        for position in range(self._fed, upto):
            logits, self.cache = self.runner.step(self.context, self.tokens[:, position : position + 1], self.cache)
        self._fed = upto
        return logits

    def advance(self, next_tokens):
        self.tokens = torch.cat([self.tokens, next_tokens[:, None].to(torch.int64)], dim=1)
        return self.feed(self.tokens.shape[1])

    def select(self, index):
        """Keep rows `index` (1-D int64, may repeat) of tokens, context and cache (batch is dim 1 of those)."""
        self.tokens = self.tokens.index_select(0, index)
        self.context = tuple(t.index_select(1, index.to(t.device)) for t in self.context)
        if self.cache is not None:
            self.cache = tuple(t.index_select(1, index.to(t.device)) for t in self.cache)


def prime(runner, context, prompts, sot_index, no_speech):
    """Feed the prompts (B, P); returns (rows, logits of the last prompt position, no_speech_prob per row)."""
    rows = _Rows(runner, context, prompts)
    logits = rows.feed(sot_index + 1)
    probs = logits.softmax(-1)[:, no_speech] if no_speech is not None else torch.full((logits.shape[0],), float("nan"))
    if rows.tokens.shape[1] > sot_index + 1:
        logits = rows.feed(rows.tokens.shape[1])
    return rows, logits, probs.tolist()


class LogitRules:
    """The masks applied to each step's logits (suppress lists, suppress_blank, timestamp rules)."""

    def __init__(self, tokenizer, options):
        self.eot, self.no_timestamps = tokenizer.eot, tokenizer.no_timestamps
        self.timestamp_begin = tokenizer.timestamp_begin
        self.suppress = torch.tensor(tokenizer.suppress_tokens(), dtype=torch.int64)
        self.begin_suppress = torch.tensor(tokenizer.begin_suppress_tokens(), dtype=torch.int64)
        self.options = options
        self.max_initial = self.timestamp_begin + int(round(options.max_initial_timestamp / TIME_PRECISION))

    def apply(self, logits, histories, step):
        """Mask logits (R, V) in place; histories[r] is row r's sampled tokens so far (step = their count)."""
        logits[:, self.suppress] = -math.inf
        if step == 0 and self.options.suppress_blank:
            logits[:, self.begin_suppress] = -math.inf
        if not self.options.timestamps:
            return logits
        begin = self.timestamp_begin
        logits[:, self.no_timestamps] = -math.inf
        check = []
        for row, history in enumerate(histories):
            if step == 0:
                logits[row, :begin] = -math.inf
                logits[row, self.max_initial + 1 :] = -math.inf
                continue
            last = history[-1]
            if last >= begin:
                penultimate = history[-2] if len(history) > 1 else last
                if penultimate >= begin:
                    logits[row, begin:] = -math.inf
                else:
                    logits[row, : self.eot] = -math.inf
                    check.append(row)
            else:
                check.append(row)
            stamps = [t for t in history if t >= begin]
            if stamps:
                logits[row, begin : stamps[-1]] = -math.inf
        if check:
            logprobs = logits[check].log_softmax(-1)
            timestamp_mass = logprobs[:, begin:].logsumexp(-1)
            text_max = logprobs[:, :begin].max(-1).values
            for row, wins in zip(check, (timestamp_mass > text_max).tolist()):
                if wins:
                    logits[row, :begin] = -math.inf
        return logits


def _final_score(score, length, length_penalty):
    if length == 0:
        return -math.inf if score < 0 else math.inf
    return score / length**length_penalty


def max_new_tokens(prompt_length, n_text_ctx=448):
    return min(n_text_ctx // 2, n_text_ctx - (prompt_length - 1))


@torch.no_grad()
def search(runner, context, prompts, sot_index, tokenizer, options, seeds=None):
    """Search every row of `context` (the runner's audio context, batch B) after its prompt; a Hypothesis per row.

    prompts: (B, P) token ids, the same length P for every row, sot at sot_index. seeds: one per row for
    sampling (temperature > 0), so that a row samples the same tokens whatever batch it is in.
    """
    batch, prompt_length = len(prompts), len(prompts[0])
    rules = LogitRules(tokenizer, options)
    limit = max_new_tokens(prompt_length)
    rows, logits, no_speech = prime(runner, context, prompts, sot_index, tokenizer.no_speech)
    if options.temperature == 0 and options.beam_size > 1:
        return _beam(rows, logits, no_speech, rules, options, limit, batch)
    width = options.best_of if options.temperature > 0 else 1
    generators = [torch.Generator().manual_seed(int(seed)) for seed in (seeds or range(batch))]
    return _sample(rows, logits, no_speech, rules, options, limit, batch, width, generators)


def _sample(rows, logits, no_speech, rules, options, limit, batch, width, generators):
    """Greedy (width 1, T = 0) or best-of-`width` sampling; finished rows leave the batch."""
    eot = rules.eot
    if width > 1:
        index = torch.arange(batch).repeat_interleave(width)
        rows.select(index)
        logits = logits.index_select(0, index)
    owners = [r // width for r in range(batch * width)]
    histories = [[] for _ in owners]
    sums = [0.0 for _ in owners]
    finished = [[] for _ in range(batch)]
    live = list(range(len(owners)))
    for step in range(limit):
        logits = rules.apply(logits.clone(), [histories[r] for r in live], step)
        logprobs = logits.log_softmax(-1)
        if options.temperature > 0:
            probs = (logits / options.temperature).softmax(-1)
            next_tokens = torch.stack(
                [torch.multinomial(probs[p], 1, generator=generators[owners[r]])[0] for p, r in enumerate(live)]
            )
        else:
            next_tokens = logits.argmax(-1)
        chosen = logprobs.gather(1, next_tokens[:, None])[:, 0].tolist()
        keep = []
        for position, (r, token, logprob) in enumerate(zip(live, next_tokens.tolist(), chosen)):
            sums[r] += logprob
            if token == eot or step == limit - 1:
                tokens = histories[r] + ([] if token == eot else [token])
                finished[owners[r]].append((tokens, sums[r]))
            else:
                histories[r].append(token)
                keep.append(position)
        if not keep:
            break
        if len(keep) < len(live):
            index = torch.tensor(keep, dtype=torch.int64)
            rows.select(index)
            next_tokens = next_tokens.index_select(0, index)
            live = [live[p] for p in keep]
        logits = rows.advance(next_tokens)
    return [_best(finished[b], no_speech[b], options.length_penalty) for b in range(batch)]


def _best(candidates, no_speech_prob, length_penalty):
    tokens, total = max(candidates, key=lambda c: _final_score(c[1], len(c[0]), length_penalty))
    return Hypothesis(tokens, total, total / (len(tokens) + 1), no_speech_prob)


def _beam(rows, logits, no_speech, rules, options, limit, batch):
    """CTranslate2's beam search (see the module docstring); finished rows leave the batch."""
    beam, eot = options.beam_size, rules.eot
    max_candidates = round(beam * options.patience)
    index = torch.arange(batch).repeat_interleave(beam)
    rows.select(index)
    logits = logits.index_select(0, index)
    scores = torch.tensor([0.0 if k == 0 else -math.inf for _ in range(batch) for k in range(beam)])
    histories = [[] for _ in range(batch * beam)]
    live = list(range(batch))  # original row of each live group of `beam` rows
    finished = [[] for _ in range(batch)]
    for step in range(limit):
        logits = rules.apply(logits.clone(), histories, step)
        vocab = logits.shape[-1]
        logprobs = logits.log_softmax(-1) + scores[:, None]
        top_scores, top_ids = logprobs.view(len(live), beam * vocab).topk(2 * beam, dim=-1)
        origins, words = (top_ids // vocab).tolist(), (top_ids % vocab).tolist()
        top_scores = top_scores.tolist()
        gather, next_words, next_scores, next_histories, keep_groups = [], [], [], [], []
        for g, b in enumerate(live):
            chosen, spare = [], beam
            for k in range(beam):
                pick = k
                if words[g][k] == eot or step == limit - 1:
                    history = histories[g * beam + origins[g][k]]
                    tokens = history + ([] if words[g][k] == eot else [words[g][k]])
                    finished[b].append((tokens, top_scores[g][k]))
                    pick = None
                    for j in range(spare, 2 * beam):
                        if words[g][j] != eot:
                            pick, spare = j, j + 1
                            break
                    if pick is None:  # every spare candidate is eot too: keep the slot with this candidate
                        pick = k
                chosen.append(pick)
            if step == limit - 1 or len(finished[b]) >= max_candidates:
                continue
            keep_groups.append(b)
            for pick in chosen:
                gather.append(g * beam + origins[g][pick])
                next_words.append(words[g][pick])
                next_scores.append(top_scores[g][pick])
                next_histories.append(histories[g * beam + origins[g][pick]] + [words[g][pick]])
        if not keep_groups:
            break
        index = torch.tensor(gather, dtype=torch.int64)
        rows.select(index)
        live, histories, scores = keep_groups, next_histories, torch.tensor(next_scores)
        logits = rows.advance(torch.tensor(next_words))
    return [_best(finished[b], no_speech[b], options.length_penalty) for b in range(batch)]
