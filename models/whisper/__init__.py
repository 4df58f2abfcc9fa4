"""Whisper (tiny.en ... medium.en, multilingual accepted) for trt_helper: PyTorch modules with trt_forward, weight
loaders, log-mel front end, tokenizer, decoding (greedy, beam, fallback, timestamps, language detection, long-form,
batched requests) over torch / reference-executor / TensorRT runners.

    from models.whisper import load_model, WhisperTokenizer, TorchRunner, transcribe
    model = load_model(path)                      # CTranslate2 dir, HuggingFace dir or openai .pt
    print(transcribe(TorchRunner(model), WhisperTokenizer(path / "tokenizer.json"), ["clip.wav"]))
"""

from .audio import AudioError, load_audio, log_mel_spectrogram
from .decoding import DecodingRules, LongAudioError, Runner, TorchRunner, greedy_decode, transcribe
from .dims import ModelDimensions
from .long_form import TranscribeOptions, transcribe_files
from .model import Whisper
from .sources import resolve_model
from .tokenizer import WhisperTokenizer
from .weights import WeightError, default_model_path, load_checkpoint, load_model

__all__ = [
    "AudioError",
    "load_audio",
    "log_mel_spectrogram",
    "DecodingRules",
    "LongAudioError",
    "Runner",
    "TorchRunner",
    "greedy_decode",
    "transcribe",
    "ModelDimensions",
    "Whisper",
    "WhisperTokenizer",
    "WeightError",
    "default_model_path",
    "load_checkpoint",
    "load_model",
    "TranscribeOptions",
    "transcribe_files",
    "resolve_model",
]
