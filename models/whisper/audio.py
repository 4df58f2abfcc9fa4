"""Audio in: read a file as 16 kHz mono float32, and the Whisper log-mel front end.

The mel computation follows openai/whisper `audio.py`: STFT (n_fft 400, hop 160, Hann, centred), |.|^2 without
the last frame, Slaney mel filters from librosa, log10 with a 1e-10 floor, per-utterance max-8 clamp, then
(x + 4) / 4; `log_mel_spectrogram` says how short clips are padded to 3000 frames.
"""

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

SAMPLE_RATE = 16000
N_FFT = 400
HOP_LENGTH = 160
CHUNK_LENGTH = 30
N_SAMPLES = CHUNK_LENGTH * SAMPLE_RATE  # 480000
N_FRAMES = N_SAMPLES // HOP_LENGTH  # 3000


class AudioError(ValueError):
    """An audio file we cannot turn into 16 kHz mono samples; the message names the file and why."""


def load_audio(path, resample=True):
    """Read `path` (anything libsndfile reads: WAV, FLAC, OGG, ...) as float32 16 kHz mono samples.

    Several channels are averaged. Another sample rate is resampled with librosa (soxr, high quality) when
    `resample` is true, else rejected with AudioError. Empty or undecodable files raise AudioError.
    """
    import soundfile

    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: empty file (0 bytes)")
    try:
        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as error:
        raise AudioError(f"{path}: not a readable audio file ({error})") from error
    if samples.shape[0] == 0:
        raise AudioError(f"{path}: no samples (a valid header with zero frames)")
    mono = samples.mean(axis=1) if samples.shape[1] > 1 else samples[:, 0]
    if rate != SAMPLE_RATE:
        if not resample:
            raise AudioError(f"{path}: sample rate {rate} Hz, Whisper needs {SAMPLE_RATE} Hz (resampling is off)")
        import librosa

        mono = librosa.resample(mono, orig_sr=rate, target_sr=SAMPLE_RATE)
    return np.ascontiguousarray(mono, dtype=np.float32)


@lru_cache(maxsize=4)
def mel_filters(n_mels=80):
    """(n_mels, 201) Slaney-normalised mel filterbank, librosa.filters.mel(sr=16000, n_fft=400)."""
    import librosa

    return torch.from_numpy(librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=n_mels)).float()


def pad_or_trim(audio, length=N_SAMPLES):
    """Zero-pad or cut the last axis of a float tensor to `length` samples."""
    if audio.shape[-1] > length:
        return audio[..., :length]
    return torch.nn.functional.pad(audio, (0, length - audio.shape[-1]))


PADDINGS = ("mel", "audio")


def log_mel_spectrogram(audio, n_mels=80, padding="mel"):
    """Whisper features (B, n_mels, 3000) from waveforms: a 1-D array, a (B, N) tensor or a list of arrays.

    Two conventions exist for clips shorter than 30 s, and they change a few transcripts:
    - padding="mel" (default): openai `transcribe` and faster-whisper. The log-mel of the clip itself (the
      max-8 clamp over its own frames; faster-whisper appends 160 zero samples before the STFT and keeps
      len // 160 frames), then zero-padded to 3000 frames in the normalised log-mel domain.
    - padding="audio": transformers' WhisperFeatureExtractor and openai `decode` on `pad_or_trim(audio)`. The
      waveform is zero-padded to 30 s first, then the log-mel of all 3000 frames.
    Clips longer than 30 s are cut to their first 30 s either way.
    """
    if padding not in PADDINGS:
        raise ValueError(f"log_mel_spectrogram: padding must be one of {PADDINGS}, got {padding!r}")
    if isinstance(audio, (list, tuple)):
        if not audio:
            raise ValueError("log_mel_spectrogram: empty list of waveforms")
        waveforms = [torch.as_tensor(np.asarray(a, dtype=np.float32)) for a in audio]
    else:
        audio = torch.as_tensor(audio, dtype=torch.float32)
        if audio.dim() == 1:
            audio = audio[None]
        waveforms = list(audio)
    bad = [tuple(w.shape) for w in waveforms if w.dim() != 1 or w.shape[0] == 0]
    if bad:
        raise ValueError(f"log_mel_spectrogram: each waveform must be 1-D with samples, got shapes {bad}")
    if padding == "audio":
        return _log_mel(torch.stack([pad_or_trim(w) for w in waveforms]), n_mels)
    features = []
    for waveform in waveforms:
        waveform = waveform[:N_SAMPLES]
        content = waveform.shape[0] // HOP_LENGTH
        mel = _log_mel(torch.nn.functional.pad(waveform, (0, HOP_LENGTH))[None], n_mels)[0, :, :content]
        features.append(torch.nn.functional.pad(mel, (0, N_FRAMES - content)))
    return torch.stack(features)


def _log_mel(audio, n_mels):
    """(B, N) waveforms -> (B, n_mels, N // 160) normalised log-mel, max-8 clamp per row."""
    window = torch.hann_window(N_FFT, device=audio.device)
    stft = torch.stft(audio, N_FFT, HOP_LENGTH, window=window, return_complex=True)
    magnitudes = stft[..., :-1].abs() ** 2
    mel = mel_filters(n_mels).to(audio.device) @ magnitudes
    log_spec = torch.clamp(mel, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.amax(dim=(-2, -1), keepdim=True) - 8.0)
    return (log_spec + 4.0) / 4.0
