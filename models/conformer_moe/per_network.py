"""State kept per network while a NetworkHelper is filled: the impl choice and tensors built once.

Every tensor of the network shares feat's batch size, so its run-time value is read once per network and
reused by every reshape.
"""

from __future__ import annotations

import weakref

_PER_NETWORK: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def once_per_network(helper, key, make):
    """``make()`` the first time ``key`` is asked for in this helper's network, the same tensor afterwards."""
    table = _PER_NETWORK.setdefault(helper, {})
    if key not in table:
        table[key] = make()
    return table[key]


def batch_size_trt(helper, x):
    """x.shape[0] as an int64 scalar tensor, built once per network."""
    return once_per_network(helper, "batch", lambda: helper.addShapeOf(x, 0, name="batch"))


def set_impl(helper, impl: str) -> None:
    """Choose ``"auto"``, ``"native"`` or ``"plugin"`` for the helper ops of this network that have both."""
    if impl not in ("auto", "native", "plugin"):
        raise ValueError(f"ConformerMoEEncoder: impl must be 'auto', 'native' or 'plugin', got {impl!r}")
    _PER_NETWORK.setdefault(helper, {})["impl"] = impl


def impl_of(helper) -> str:
    """The impl chosen with :func:`set_impl` (default ``"auto"``)."""
    return _PER_NETWORK.get(helper, {}).get("impl", "auto")


def layer_norm(helper, module, x):
    """``helper.addLayerNorm`` with this network's impl choice."""
    return helper.addLayerNorm(module, x, impl=impl_of(helper))
