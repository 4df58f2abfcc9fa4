"""ONNX's node test cases, collected once per session (collecting runs ONNX's numpy references: ~15 s)."""

import pytest


@pytest.fixture(scope="session")
def node_cases():
    pytest.importorskip("onnx")
    from .onnx_node_suite import load_cases

    return load_cases()
