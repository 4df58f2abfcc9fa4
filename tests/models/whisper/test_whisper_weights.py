"""Model dimensions and weight loaders: parameter counts against published figures, loaders against each other and
against transformers' own loading, and the errors for checkpoints that do not fit."""

import struct

import pytest
import torch

from models.whisper.dims import ModelDimensions
from models.whisper.model import Whisper, sinusoids
from models.whisper.weights import (
    WeightError,
    expected_shapes,
    load_checkpoint,
    load_ct2,
    load_hf,
    load_openai,
    read_ct2_variables,
    save_hf,
    save_openai,
    to_hf_state_dict,
)

# research/whisper.md §1.1: derived counts; base.en equals openai's notebook ("71,825,408 parameters")
PARAMETERS = {"tiny.en": 37_184_256, "base.en": 71_825_408, "small.en": 240_582_144, "medium.en": 762_320_896}


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_presets_have_the_published_parameter_counts(name):
    with torch.device("meta"):
        model = Whisper(ModelDimensions.preset(name))
    assert sum(p.numel() for p in model.parameters()) == PARAMETERS[name]


def test_dims_reject_bad_values():
    with pytest.raises(ValueError, match="unknown Whisper size 'huge.en'"):
        ModelDimensions.preset("huge.en")
    with pytest.raises(ValueError, match="n_audio_state 384 is not divisible by n_audio_head 5"):
        ModelDimensions(80, 1500, 384, 5, 4, 51864, 448, 384, 6, 4)
    with pytest.raises(ValueError, match="n_mels must be a positive int"):
        ModelDimensions(0, 1500, 384, 6, 4, 51864, 448, 384, 6, 4)
    assert ModelDimensions.preset("tiny").is_multilingual and not ModelDimensions.preset("tiny.en").is_multilingual


def test_ct2_weights_are_tiny_en(checkpoint):
    dims, state = checkpoint
    assert dims == ModelDimensions.preset("tiny.en")
    assert (
        sum(t.numel() for name, t in state.items() if name != "encoder.positional_embedding") == PARAMETERS["tiny.en"]
    )
    # the CTranslate2 file stores the encoder's sinusoids (fp16): they must be openai's formula
    assert float((state["encoder.positional_embedding"] - sinusoids(1500, 384)).abs().max()) < 1e-3


def test_hf_directory_round_trip_and_transformers_reads_it(checkpoint, tmp_path):
    transformers = pytest.importorskip("transformers")
    dims, state = checkpoint
    save_hf(dims, state, tmp_path / "hf")
    loaded_dims, loaded = load_hf(tmp_path / "hf")
    assert loaded_dims == dims and loaded.keys() == state.keys()
    assert all(torch.equal(loaded[name], state[name]) for name in state)
    # transformers loading the directory itself: every HF tensor is ours under HF's name
    hf = transformers.WhisperForConditionalGeneration.from_pretrained(tmp_path / "hf").eval()
    hf_state = hf.state_dict()
    for name, tensor in to_hf_state_dict(state).items():
        assert torch.equal(hf_state[name], tensor), name
    assert torch.equal(hf_state["proj_out.weight"], state["decoder.token_embedding.weight"])


def test_hf_pytorch_model_bin(checkpoint, tmp_path):
    dims, state = checkpoint
    save_hf(dims, state, tmp_path)
    (tmp_path / "model.safetensors").unlink()
    torch.save(
        {**to_hf_state_dict(state), "proj_out.weight": state["decoder.token_embedding.weight"]},
        tmp_path / "pytorch_model.bin",
    )
    _, loaded = load_hf(tmp_path)
    assert all(torch.equal(loaded[name], state[name]) for name in state)
    untied = to_hf_state_dict(state)
    untied["proj_out.weight"] = state["decoder.token_embedding.weight"] + 1
    torch.save(untied, tmp_path / "pytorch_model.bin")
    with pytest.raises(WeightError, match="proj_out.weight differs from embed_tokens.weight"):
        load_hf(tmp_path)


def test_openai_checkpoint_round_trip(checkpoint, tmp_path):
    dims, state = checkpoint
    path = tmp_path / "tiny.en.pt"
    trimmed = {k: v for k, v in state.items() if k != "encoder.positional_embedding"}  # a buffer some exports drop
    trimmed["alignment_heads"] = torch.zeros(4, 6, dtype=torch.bool)  # newer checkpoints carry it
    save_openai(dims, trimmed, path)
    loaded_dims, loaded, fmt = load_checkpoint(path)
    assert fmt == "openai" and loaded_dims == dims
    assert torch.equal(loaded["encoder.positional_embedding"], sinusoids(1500, 384))
    assert all(torch.equal(loaded[name], state[name]) for name in trimmed if name != "alignment_heads")


def test_shape_errors_name_the_tensor_and_both_shapes(checkpoint, tmp_path):
    dims, state = checkpoint
    bad = dict(state)
    bad["decoder.blocks.2.cross_attn.query.weight"] = torch.zeros(384, 385)
    del bad["encoder.ln_post.bias"]
    bad["decoder.extra.weight"] = torch.zeros(3)
    save_openai(dims, bad, tmp_path / "bad.pt")
    with pytest.raises(WeightError) as error:
        load_openai(tmp_path / "bad.pt")
    message = str(error.value)
    assert "decoder.blocks.2.cross_attn.query.weight: expected (384, 384), got (384, 385)" in message
    assert "missing encoder.ln_post.bias (384,)" in message
    assert "unexpected decoder.extra.weight (3,)" in message
    assert "bad.pt" in message


def test_wrong_dims_for_the_weights(checkpoint, tmp_path):
    _, state = checkpoint
    save_openai(ModelDimensions.preset("base.en"), state, tmp_path / "mismatch.pt")
    with pytest.raises(WeightError, match=r"encoder.conv1.weight: expected \(512, 80, 3\), got \(384, 80, 3\)"):
        load_openai(tmp_path / "mismatch.pt")


def test_unreadable_files(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(WeightError, match="junk.pt: not a readable torch checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save({"weights": 1}, tmp_path / "dict.pt")
    with pytest.raises(WeightError, match="holds 'dims' and 'model_state_dict'; found \\['weights'\\]"):
        load_checkpoint(tmp_path / "dict.pt")
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "config.json").write_text('{"d_model": 384}')
    with pytest.raises(WeightError, match="cannot read Whisper dimensions"):
        load_checkpoint(tmp_path / "hf")
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(WeightError, match="holds neither model.bin"):
        load_checkpoint(tmp_path / "empty_dir")


def test_ct2_truncated_and_tampered(model_dir, tmp_path):
    data = (model_dir / "model.bin").read_bytes()
    (tmp_path / "model.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightError, match="truncated CTranslate2 model.bin"):
        load_ct2(tmp_path)
    variables, aliases = read_ct2_variables(model_dir / "model.bin")
    assert aliases == {"decoder/projection/weight": "decoder/embeddings/weight"}
    fused = variables["encoder/layer_1/self_attention/linear_0/bias"]
    assert fused.shape == (3 * 384,) and not torch.count_nonzero(fused[384:768])  # the zero key bias
    tampered = bytearray(data)
    name = b"encoder/layer_1/self_attention/linear_0/bias\x00"
    at = tampered.index(name) + len(name) + 1 + 4 + 1 + 4  # rank, dim, dtype, byte count
    key_bias_at = at + 384 * 2  # fp16
    struct.pack_into("<e", tampered, key_bias_at, 0.5)
    (tmp_path / "model.bin").write_bytes(bytes(tampered))
    with pytest.raises(WeightError, match="linear_0/bias has a non-zero key slice"):
        load_ct2(tmp_path)


def test_expected_shapes_cover_every_parameter():
    dims = ModelDimensions.preset("tiny")
    shapes = expected_shapes(dims)
    assert shapes["decoder.token_embedding.weight"] == (51865, 384)
    assert "decoder.blocks.0.attn.key.bias" not in shapes and "decoder.blocks.0.attn.query.bias" in shapes
