"""Fixtures for the op tests (the harness itself is tests/op_harness.py)."""

import pytest
import torch


@pytest.fixture(params=[torch.float32, torch.float16], ids=["fp32", "fp16"])
def dtype(request):
    return request.param


@pytest.fixture
def gen():
    """A fresh, unseeded-per-run generator: inputs differ between runs (never zeros)."""
    g = torch.Generator()
    g.seed()
    print(f"generator seed {g.initial_seed()}")  # shown by pytest when a test fails
    return g
