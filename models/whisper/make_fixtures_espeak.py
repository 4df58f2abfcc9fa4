"""Regenerate the multilingual Whisper test clips (tests/data/whisper/espeak/) with Debian's espeak-ng.

    apt-get install -y espeak-ng
    python3 -m models.whisper.make_fixtures_espeak [--out tests/data/whisper/espeak]

German, French and Spanish sentences of our own, spoken by espeak-ng's default voice for the language, resampled
from 22050 Hz to 16 kHz (librosa, soxr) and written as 16-bit FLAC, plus manifest.json (file, language, text,
duration). espeak-ng's formant synthesis is much further from natural speech than flite's slt voice, so
Whisper's transcripts of these clips are compared with faster-whisper's on the same weights, not with the text.
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

SENTENCES = {
    "de": [
        "Guten Morgen, wie geht es dir heute?",
        "Der Zug nach Berlin fährt um acht Uhr vom Hauptbahnhof ab.",
        "Wir haben gestern Abend im Garten gegessen, weil das Wetter so schön war.",
    ],
    "fr": [
        "Bonjour, je voudrais un café et un croissant, s'il vous plaît.",
        "La bibliothèque ferme à six heures le samedi.",
        "Mon frère habite dans une petite maison près de la mer.",
    ],
    "es": [
        "Buenos días, ¿dónde está la estación de tren?",
        "Mañana vamos a visitar a mis abuelos en el campo.",
        "El restaurante de la esquina tiene la mejor paella de la ciudad.",
    ],
}


def speak(text, language, workdir):
    wav = Path(workdir) / "speech.wav"
    subprocess.run(["espeak-ng", "-v", language, "-w", str(wav), text], check=True)
    audio, rate = sf.read(wav, dtype="float32")
    if rate != SAMPLE_RATE:
        import librosa

        audio = librosa.resample(audio, orig_sr=rate, target_sr=SAMPLE_RATE)
    return np.clip(audio, -1.0, 1.0).astype(np.float32)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", default=str(Path(__file__).resolve().parents[2] / "tests" / "data" / "whisper" / "espeak")
    )
    args = parser.parse_args(argv)
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng not found: apt-get install -y espeak-ng")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    clips = []
    with tempfile.TemporaryDirectory() as workdir:
        for language, sentences in SENTENCES.items():
            for index, text in enumerate(sentences):
                audio = speak(text, language, workdir)
                path = out / f"{language}_{index:02d}.flac"
                sf.write(path, audio, SAMPLE_RATE, format="FLAC", subtype="PCM_16")
                clips.append(
                    {
                        "file": path.name,
                        "language": language,
                        "text": text,
                        "duration": round(len(audio) / SAMPLE_RATE, 3),
                    }
                )
                print(f"{path.name}  {clips[-1]['duration']:5.2f} s  {text}")
    (out / "manifest.json").write_text(json.dumps(clips, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
