"""Independent peers to check our port against: HF transformers and faster-whisper, on the same weights.

Neither is needed to run the model; tests and benchmarks/whisper_wer.py use them. No hub access: the HF model is
constructed from a WhisperConfig for our dimensions and loaded with our weights renamed to HF's names, and
faster-whisper reads the CTranslate2 directory itself.
"""

import torch

from .weights import hf_config, to_hf_state_dict


def hf_model(dims, state_dict, attn_implementation="sdpa"):
    """transformers WhisperForConditionalGeneration holding our weights (proj_out tied to the embedding)."""
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    config = WhisperConfig(**hf_config(dims))
    config._attn_implementation = attn_implementation
    model = WhisperForConditionalGeneration(config).eval()
    result = model.load_state_dict(to_hf_state_dict(state_dict), strict=False)
    if result.unexpected_keys or set(result.missing_keys) - {"proj_out.weight"}:
        raise ValueError(f"HF model: missing {result.missing_keys}, unexpected {result.unexpected_keys}")
    if not torch.equal(model.proj_out.weight, model.model.decoder.embed_tokens.weight):
        raise ValueError("HF model: proj_out is not tied to embed_tokens")
    return model


@torch.no_grad()
def hf_generate(model, tokenizer, mel, max_new_tokens=224):
    """HF `generate` with the rules of models.whisper.decoding: greedy, no timestamps, our suppress lists.

    Returns token ids per row without prompt and eot.
    """
    config = model.generation_config
    config.suppress_tokens = tokenizer.suppress_tokens()
    config.begin_suppress_tokens = tokenizer.begin_suppress_tokens()
    config.no_timestamps_token_id = tokenizer.no_timestamps
    config.is_multilingual = tokenizer.is_multilingual
    config.max_length = model.config.max_target_positions
    sequences = model.generate(
        input_features=mel,
        generation_config=config,
        max_new_tokens=max_new_tokens,
        return_timestamps=False,
        num_beams=1,
        do_sample=False,
        attention_mask=torch.ones(mel.shape[0], mel.shape[-1], dtype=torch.long),
    )
    sequences = getattr(sequences, "sequences", sequences).tolist()
    prompt = tokenizer.sot_sequence()
    rows = []
    for row in sequences:
        if row[: len(prompt)] == prompt:
            row = row[len(prompt) :]
        rows.append(row[: row.index(tokenizer.eot)] if tokenizer.eot in row else row)
    return rows


def faster_whisper_model(ct2_dir, threads=2):
    """faster-whisper on CPU in float32 (the fp16 weights widened, as our loader does)."""
    from faster_whisper import WhisperModel

    return WhisperModel(str(ct2_dir), device="cpu", compute_type="float32", cpu_threads=threads)


def faster_whisper_text(model, samples):
    """Text of 16 kHz samples with beam 1, temperature 0 only, no timestamps, no VAD, no previous-text prompt."""
    segments, _ = model.transcribe(
        samples,
        beam_size=1,
        best_of=1,
        temperature=[0.0],
        without_timestamps=True,
        vad_filter=False,
        condition_on_previous_text=False,
    )
    return "".join(segment.text for segment in segments).strip()


def word_error_rate(references, hypotheses):
    """Corpus WER in percent after openai's EnglishTextNormalizer (whisper-normalizer), as openai's notebook does."""
    import jiwer
    from whisper_normalizer.english import EnglishTextNormalizer

    normalize = EnglishTextNormalizer()
    pairs = [(normalize(r), normalize(h)) for r, h in zip(references, hypotheses, strict=True)]
    return 100.0 * jiwer.wer([r for r, _ in pairs], [h for _, h in pairs])
