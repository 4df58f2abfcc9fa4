"""Op registration: ``@op`` turns ``addX(helper, ...)`` into the method ``NetworkHelper.addX``.

An op is a plain function in its own file under ``trt_helper/ops/`` (or ``trt_helper/plugins/``). The decorator
gives it, for free, what every op needs: the op name used in errors and layer names (its function name), the
``name=`` keyword (layers are named ``<module path>.<name>``), and for module ops (``module=nn.Linear``) the type
check, the module's scope and the recording of its output under the module path. ``leaf`` maps a torch.nn class
to the op that ``helper(module, x)`` calls for it.

Example:
    >>> @op
    ... def addSquare(helper: NetworkHelper, x: ITensor) -> ITensor:
    ...     '''``x * x``.'''
    ...     return addMul(helper, x, x)
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from torch import nn

if TYPE_CHECKING:
    from .helper import NetworkHelper

    class ITensor:
        """A TensorRT network tensor (``trt.ITensor``) as op signatures name it, without importing TensorRT."""

        name: str
        shape: Any
        dtype: Any
        is_network_input: bool
        is_network_output: bool
else:
    ITensor = Any  #: a TensorRT network tensor (``trt.ITensor``); TensorRT is only imported by trt_helper.backend

F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C", bound=type)

#: public op name -> the registered function (the method ``NetworkHelper.<name>``)
OPS: dict[str, Callable[..., Any]] = {}
#: torch.nn class -> ``add(helper, module, *inputs, **kwargs)`` for ``helper(module, ...)``
LEAF_MODULES: dict[type, Callable[..., Any]] = {}
_HELPER_CLASSES: list[type] = []  # classes that get every op as a method (NetworkHelper)
_NAME_PARAMETER = inspect.Parameter("name", inspect.Parameter.KEYWORD_ONLY, default=None, annotation="str | None")


def op(fn: F | None = None, *, module: type | tuple[type, ...] | None = None) -> Any:
    """Register ``fn(helper, ...)`` as ``NetworkHelper.<fn.__name__>``; every op also takes ``name=``.

    ``module``: the op's first argument after ``helper`` is a torch module of this type; the op runs in that
    module's scope (layers named by its path) and its result is recorded as the module's output.
    """

    def register(fn: F) -> F:
        op_name = fn.__name__
        if not op_name.startswith("add") or op_name in OPS:
            raise ValueError(f"op {op_name}: ops are named addX and registered once")

        @functools.wraps(fn)
        def method(helper: NetworkHelper, *args: Any, name: str | None = None, **kwargs: Any) -> Any:
            if module is None:
                with helper.op_frame(op_name, name):
                    return fn(helper, *args, **kwargs)
            target = args[0] if args else None
            if not isinstance(target, module):
                expected = module.__name__ if isinstance(module, type) else " or ".join(m.__name__ for m in module)
                raise TypeError(
                    f"{op_name} at '{helper.current_path()}': expected a {expected}, got {type(target).__name__}"
                )
            with helper.scope(cast(nn.Module, target), name) as scope, helper.op_frame(op_name, None, module_op=True):
                return scope.record(fn(helper, *args, **kwargs))

        parameters = list(inspect.signature(fn).parameters.values())
        method.__signature__ = inspect.Signature(parameters + [_NAME_PARAMETER])  # type: ignore[attr-defined]
        _publish(op_name, method)
        return method  # type: ignore[return-value]

    return register(fn) if fn is not None else register


def deprecated_alias(old: str, new: Callable[..., Any]) -> None:
    """Keep ``NetworkHelper.<old>`` for one release as a DeprecationWarning-raising alias of op ``new``."""

    @functools.wraps(new)
    def alias(helper: NetworkHelper, *args: Any, **kwargs: Any) -> Any:
        warnings.warn(f"{old} is deprecated; use {new.__name__} (same arguments)", DeprecationWarning, stacklevel=2)
        return new(helper, *args, **kwargs)

    alias.__name__ = old
    alias.__doc__ = f"Deprecated alias of :meth:`{new.__name__}`."
    _publish(old, alias)


def leaf(module_type: type[nn.Module], add: Callable[..., Any]) -> None:
    """``helper(module, *inputs)`` for ``type(module) is module_type`` calls ``add(helper, module, *inputs)``."""
    LEAF_MODULES[module_type] = add


def bind_ops(cls: C) -> C:
    """Give ``cls`` every op registered so far and every op registered later, as methods."""
    _HELPER_CLASSES.append(cls)
    for name, method in OPS.items():
        setattr(cls, name, method)
    return cls


def _publish(name: str, method: Callable[..., Any]) -> None:
    OPS[name] = method
    for cls in _HELPER_CLASSES:
        setattr(cls, name, method)
