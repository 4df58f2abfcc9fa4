"""The small core every op builds on: :class:`NetworkHelper`, the ``@op`` registration and ``leaf`` dispatch."""

from .base import FLOAT_DTYPES, NetworkCore, Scope
from .helper import NetworkHelper
from .registry import LEAF_MODULES, OPS, ITensor, deprecated_alias, leaf, op

__all__ = [
    "NetworkHelper",
    "NetworkCore",
    "Scope",
    "ITensor",
    "op",
    "leaf",
    "deprecated_alias",
    "OPS",
    "LEAF_MODULES",
    "FLOAT_DTYPES",
]
