"""bench_plugins.py --woq-shapes: the K x N list it takes, and the error for a malformed one (CPU)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "plugins"))
from bench_woq import parse_shapes


def test_parses_k_by_n_pairs():
    assert parse_shapes("1280x5120, 5120X1280") == [(1280, 5120), (5120, 1280)]


@pytest.mark.parametrize("text", ["1280", "1280x", "1280x5120x2", "ax5120", "0x5120", "1280x5120,"])
def test_malformed_shape_is_named(text):
    with pytest.raises(ValueError, match=r"--woq-shapes: .* is not K x N"):
        parse_shapes(text)
