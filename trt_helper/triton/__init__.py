"""Serve built plans with Triton Inference Server.

``python -m trt_helper.triton export ...`` writes a model repository (``repository``: config.pbtxt from each plan's
sidecar, 1/model.plan, Python models for Whisper's greedy loop and the conformer's padding); ``serve`` starts the
Triton server bundled in PyPI ``nvidia-pytriton`` on it (``server``), on any host, without a GPU.
"""

from .config import plan_config, to_pbtxt
from .repository import export_conformer, export_plan, export_whisper
from .server import TritonServer

__all__ = ["plan_config", "to_pbtxt", "export_plan", "export_whisper", "export_conformer", "TritonServer"]
