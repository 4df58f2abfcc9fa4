"""Spoken-language detection from the first decoder step (openai/whisper `detect_language`, CTranslate2's).

The decoder is fed [sot] alone; the logits of that position restricted to the language tokens, softmaxed, give
the language probabilities. English-only vocabularies have no choice to make: "en" with probability 1.
"""

import torch


@torch.no_grad()
def language_probs(runner, tokenizer, context):
    """(B, n_languages) probabilities over tokenizer.languages (in its order) for an audio context of batch B."""
    if not tokenizer.is_multilingual:
        raise ValueError(f"{tokenizer.path}: an English-only vocabulary has no language tokens to detect")
    batch = context[0].shape[1]
    logits, _ = runner.prefix(context, torch.full((batch, 1), tokenizer.sot, dtype=torch.int64))
    ids = torch.tensor(list(tokenizer.languages.values()), dtype=torch.int64)
    return logits.float()[:, ids].softmax(-1)


def detect_language(runner, tokenizer, context):
    """[(code, probability, {code: probability})] per row of the audio context; English for .en vocabularies."""
    if not tokenizer.is_multilingual:
        return [("en", 1.0, {"en": 1.0}) for _ in range(context[0].shape[1])]
    codes = list(tokenizer.languages)
    results = []
    for row in language_probs(runner, tokenizer, context).tolist():
        probs = dict(zip(codes, row))
        best = max(probs, key=probs.get)
        results.append((best, probs[best], probs))
    return results
