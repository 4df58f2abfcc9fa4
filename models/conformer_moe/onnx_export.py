"""torch.onnx.export of the PyTorch encoder: the path the helper-built network is compared against."""

from __future__ import annotations

import os
import warnings

import torch

from .encoder import ConformerMoEEncoder

INPUT_NAMES = ("feat", "feat_len")
OUTPUT_NAMES = ("logits", "out_len")


def export_onnx(model: ConformerMoEEncoder, path: str | os.PathLike, frames: int = 206, opset: int = 17) -> str:
    """Export with dynamic batch and time axes (TorchScript exporter; the MoE runs :meth:`all_experts`).

    Large models go to ``path`` plus external data files next to it. Returns ``path``.
    """
    feat = torch.randn(2, frames, model.config.input_dim, dtype=next(model.parameters()).dtype)
    feat_len = torch.full((2,), frames, dtype=torch.int32)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about shape-dependent Python checks
        torch.onnx.export(
            model,
            (feat, feat_len),
            str(path),
            dynamo=False,
            opset_version=opset,
            input_names=list(INPUT_NAMES),
            output_names=list(OUTPUT_NAMES),
            dynamic_axes={
                "feat": {0: "B", 1: "T"},
                "feat_len": {0: "B"},
                "logits": {0: "B", 1: "T_sub"},
                "out_len": {0: "B"},
            },
        )
    return str(path)
