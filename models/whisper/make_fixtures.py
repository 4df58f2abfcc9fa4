"""Regenerate the Whisper test clips in tests/data/whisper/ with Debian's flite (voice slt).

    apt-get install -y flite
    python3 -m models.whisper.make_fixtures [--out tests/data/whisper]

Writes one FLAC (or WAV) per clip and manifest.json, which lists for each clip its file, kind
("sentence" or an edge case), reference text (None where there is no speech to transcribe),
sample rate, channels and duration. Running it again gives the same files byte for byte as long as
flite and libsndfile do not change: the only randomness (the noise floor of nothing) is seeded.
Only needed to regenerate the committed clips; the tests read the committed files.
"""

import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

SAMPLE_RATE = 16000

# Sentences of our own, 2-12 s when spoken by flite's slt voice (about 3.3 words per second).
SENTENCES = [
    "Please turn off the lights in the kitchen.",
    "Please call me back tomorrow morning.",
    "The meeting has been moved to Thursday afternoon.",
    "She bought three apples and a loaf of bread at the market.",
    "Our train leaves the central station at half past seven.",
    "The weather today is sunny with a light breeze from the west.",
    "He forgot his umbrella at the office and walked home in the rain.",
    "Can you send me the report before the end of the week?",
    "The children played football in the park until it got dark.",
    "We need to buy more paper for the printer on the second floor.",
    "The old bridge over the river was closed for repairs last summer.",
    "My brother plays the guitar in a small band that performs on weekends.",
    "The library opens at nine in the morning and closes at six in the evening.",
    "After dinner we watched a documentary about whales and dolphins in the ocean.",
    "The engineer explained how the new engine uses less fuel than the old one.",
    "Please remember to lock the door and close all the windows before you leave the house.",
    "The museum has a large collection of paintings, sculptures and ancient coins from many countries.",
    "Every morning she runs five kilometers along the beach before going to work at the hospital.",
    "The company announced that it will open two new offices next year, one in the north and one in the south.",
    "When the storm finally passed, the farmers went out to inspect their fields and count the damaged trees.",
    "The teacher asked the students to read the first chapter of the book and write a short summary for Monday.",
    "Although the restaurant was very busy on Saturday night, the waiter found us a quiet table near the window.",
    "Good morning, everyone, and welcome to the show.",
    "The river flows slowly through the valley, past old farms, quiet villages and wide green meadows, until it reaches the sea near a small fishing town where boats leave every morning before sunrise.",
    "In the first part of the lecture, the professor described how bridges are designed to carry heavy loads, and in the second part she showed photographs of famous bridges from around the world.",
    "The recipe calls for two cups of flour, one cup of sugar, three eggs and a little bit of butter.",
]


def speak(text, workdir):
    wav = Path(workdir) / "speech.wav"
    subprocess.run(["flite", "-voice", "slt", "-t", text, "-o", str(wav)], check=True)
    audio, rate = sf.read(wav, dtype="float32")
    if rate != SAMPLE_RATE:
        raise RuntimeError(f"flite wrote {rate} Hz, expected {SAMPLE_RATE}")
    return audio


def resample(audio, rate):
    import librosa

    return librosa.resample(audio, orig_sr=SAMPLE_RATE, target_sr=rate).astype(np.float32)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[2] / "tests" / "data" / "whisper"))
    args = parser.parse_args(argv)
    if shutil.which("flite") is None:
        raise SystemExit("flite not found: apt-get install -y flite")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    clips = []

    def write(name, audio, rate, kind, text, fmt="FLAC"):
        path = out / f"{name}.{fmt.lower()}"
        sf.write(path, audio, rate, format=fmt, subtype="PCM_16")
        channels = 1 if audio.ndim == 1 else audio.shape[1]
        clips.append(
            {
                "file": path.name,
                "kind": kind,
                "text": text,
                "sample_rate": rate,
                "channels": channels,
                "duration": round(len(audio) / rate, 3),
            }
        )

    with tempfile.TemporaryDirectory() as workdir:
        spoken = [speak(text, workdir) for text in SENTENCES]
        for index, (text, audio) in enumerate(zip(SENTENCES, spoken)):
            write(f"sentence_{index:02d}", audio, SAMPLE_RATE, "sentence", text)

        # Edge clips.
        rng = np.random.default_rng(0)
        write("silence_5s", np.zeros(5 * SAMPLE_RATE, np.float32), SAMPLE_RATE, "silence", None)
        noise = (rng.standard_normal(3 * SAMPLE_RATE) * 1e-3).astype(np.float32)
        write("noise_floor_3s", noise, SAMPLE_RATE, "silence", None)
        word = speak("Yes.", workdir)
        onset = int(np.argmax(np.abs(word) > 0.02))
        write("short_0p2s", word[onset : onset + SAMPLE_RATE // 5], SAMPLE_RATE, "short", None)
        long_indices = [12, 13, 16, 23]
        gap = np.zeros(SAMPLE_RATE // 4, np.float32)
        long_audio = np.concatenate([part for i in long_indices for part in (gap, spoken[i])])
        if not 25 * SAMPLE_RATE < len(long_audio) <= 29 * SAMPLE_RATE:
            raise RuntimeError(f"the long clip's speech lasts {len(long_audio) / SAMPLE_RATE:.1f} s, not 25-29 s")
        long_audio = np.pad(long_audio, (0, 29 * SAMPLE_RATE - len(long_audio)))
        write("long_29s", long_audio, SAMPLE_RATE, "long", " ".join(SENTENCES[i] for i in long_indices))
        stereo = np.stack([spoken[4], 0.5 * spoken[4]], axis=1)
        write("stereo_16k", stereo, SAMPLE_RATE, "stereo", SENTENCES[4])
        write("rate_8k", resample(spoken[7], 8000), 8000, "rate_8k", SENTENCES[7], fmt="WAV")
        write("rate_44k1", resample(spoken[10], 44100), 44100, "rate_44k1", SENTENCES[10])

    (out / "manifest.json").write_text(json.dumps(clips, indent=1) + "\n")
    for clip in clips:
        print(f"{clip['file']:24s} {clip['duration']:6.2f} s  {clip['kind']}")


if __name__ == "__main__":
    main()
