"""Our PyTorch model against transformers' WhisperForConditionalGeneration holding the same weights.

Tolerance: encoder output and decoder logits rel err (max abs diff / max abs value) <= 1e-4 in fp32, for HF's
SDPA and its eager (explicit softmax) attention. Random weights of other sizes check the name mapping where no
real checkpoint is at hand.
"""

import pytest
import torch

from models.whisper.dims import ModelDimensions
from models.whisper.model import Whisper, random_init_
from models.whisper.peers import hf_model
from trt_helper import rel_error

pytest.importorskip("transformers")


def _compare(ours, hf, mel, tokens):
    with torch.no_grad():
        ours_features = ours.encoder(mel)
        hf_features = hf.model.encoder(mel).last_hidden_state
        ours_logits = ours(mel, tokens)
        hf_logits = hf(input_features=mel, decoder_input_ids=tokens).logits
        # the cached path: prefix then one token at a time must give the same last logits
        cross = ours.decoder.cross_kv(ours_features)
        _, k, v = ours.decoder(tokens[:, :-1], *cross)
        step_logits = ours.decoder(tokens[:, -1:], *cross, k, v)[0]
    return (
        rel_error(ours_features, hf_features),
        rel_error(ours_logits, hf_logits),
        rel_error(step_logits[:, -1], hf_logits[:, -1]),
    )


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_real_tiny_en_matches_transformers(tiny_model, checkpoint, clip_mels, torch_decoded, attention):
    hf = hf_model(*checkpoint, attn_implementation=attention)
    names = ["sentence_05.flac", "sentence_24.flac"]
    mel = torch.cat([clip_mels[n] for n in names])
    length = min(len(torch_decoded[n].tokens) for n in names)
    tokens = torch.tensor([[50257, 50362] + torch_decoded[n].tokens[:length] for n in names])
    encoder_err, logits_err, step_err = _compare(tiny_model, hf, mel, tokens)
    print(f"tiny.en vs HF {attention}: encoder {encoder_err:.2e}, logits {logits_err:.2e}, cached step {step_err:.2e}")
    assert encoder_err <= 1e-4 and logits_err <= 1e-4 and step_err <= 1e-4


@pytest.mark.parametrize("size", ["tiny", "base.en"])
def test_random_weights_of_other_sizes_match_transformers(size):
    dims = ModelDimensions.preset(size)
    ours = random_init_(Whisper(dims), seed=3).eval()
    hf = hf_model(dims, ours.state_dict(), attn_implementation="eager")
    generator = torch.Generator().manual_seed(4)
    mel = torch.randn(1, 80, 3000, generator=generator)
    tokens = torch.randint(0, dims.n_vocab, (1, 6), generator=generator)
    errors = _compare(ours, hf, mel, tokens)
    print(f"{size} random weights vs HF: {errors}")
    assert max(errors) <= 1e-4


def test_model_rejects_bad_shapes(tiny_model):
    with pytest.raises(ValueError, match=r"mel must be \(B, 80, 3000\), got \(1, 80, 2999\)"):
        tiny_model.encoder(torch.zeros(1, 80, 2999))
    cross = (torch.zeros(4, 1, 1500, 384),) * 2
    with pytest.raises(ValueError, match=r"tokens must be \(B, T\), got \(3,\)"):
        tiny_model.decoder(torch.zeros(3, dtype=torch.long), *cross)
    with pytest.raises(ValueError, match="447 cached \\+ 2 new tokens exceed n_text_ctx 448"):
        past = torch.zeros(4, 1, 447, 384)
        tiny_model.decoder(torch.zeros(1, 2, dtype=torch.long), *cross, past, past)
