"""trt_helper: write TensorRT networks the way you write PyTorch.

``NetworkHelper`` fills a strongly typed TensorRT network from a torch model's ``trt_forward``; ``build`` writes a
``.plan``; ``reference`` evaluates the network with PyTorch (the numeric oracle); ``compare`` tells where a port
goes wrong; ``Engine`` runs a plan where a TensorRT runtime and a supported GPU exist.

TensorRT itself is imported lazily (``trt_helper.backend.get_backend``), so ``import trt_helper`` works without it.
"""

from . import ops, plugins, reference  # ops and plugins register every addX on NetworkHelper
from .backend import get_backend
from .builder import BuildReport
from .compare import capture, compare, rel_error
from .core import NetworkHelper
from .runtime import Engine

__version__ = "0.1.0"
__all__ = [
    "NetworkHelper",
    "BuildReport",
    "Engine",
    "compare",
    "capture",
    "rel_error",
    "reference",
    "get_backend",
    "ops",
    "plugins",
    "__version__",
]
