"""Run ONNX's backend node test cases through the backend's ONNX parser and the reference executor.

Each case is one ONNX node with inputs and the outputs ONNX expects. :func:`run_case` parses the model with
``NetworkHelper.fromOnnx``, evaluates the network with ``helper.reference`` and compares every output with
ONNX's expected data (the tolerance ONNX's own backend test uses: ``rtol=1e-3, atol=1e-7``, or the case's).
``python tests/reference/onnx_node_suite.py [--jobs N] [--json results.json] [case ...]`` runs every case (or the
named ones) and prints the counts.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings

import numpy as np
import torch

import trt_helper
from trt_helper.reference.dtypes import carrier

STATUSES = ("refused", "match", "differ", "fail")


def load_cases():
    """ONNX's node test cases, by name (collecting them runs ONNX's numpy references: ~15 s)."""
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        return {case.name: case for case in collect_testcases()}


def to_torch(array, dtype: torch.dtype | None = None) -> torch.Tensor:
    """A numpy array (bf16/float8 ml_dtypes arrays included) as a torch tensor, cast to ``dtype`` if given."""
    array = as_array(array)
    standard = _standard(array)
    if standard is not array:
        return torch.from_numpy(standard).to(dtype or torch.float32)
    tensor = torch.from_numpy(array.copy())  # np.ascontiguousarray would make 0-d 1-d
    return tensor if dtype is None else tensor.to(dtype)


def as_array(value) -> np.ndarray:
    """A test case's input or expected output (an array or a TensorProto) as a numpy array."""
    from onnx import TensorProto, numpy_helper

    return numpy_helper.to_array(value) if isinstance(value, TensorProto) else np.asarray(value)


def run_case(case) -> tuple[str, str]:
    """``(status, detail)`` for one case; status is one of :data:`STATUSES`."""
    model = case.model.SerializeToString()
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            helper = trt_helper.NetworkHelper.fromOnnx(model, name=case.name)
    except Exception as error:
        return "refused", _first_line(error)
    inputs, expected = case.data_sets[0]
    graph = case.model.graph
    initializers = {t.name for t in graph.initializer}
    names = [v.name for v in graph.input if v.name not in initializers]
    network = helper.network
    declared = {network.get_input(i).name: network.get_input(i) for i in range(network.num_inputs)}
    # the parser may rename an input (test_loop11's 'cond' becomes 'cond_in'): unmatched ones pair by position
    given = dict(zip(names, inputs))
    unmatched = iter([value for name, value in given.items() if name not in declared])
    try:
        feeds = {
            name: to_torch(given[name] if name in given else next(unmatched), carrier(tensor.dtype))
            for name, tensor in declared.items()
        }
        got = helper.reference(feeds)
    except Exception as error:
        return "fail", _first_line(error)
    problems = []
    for info, want in zip(graph.output, expected):
        if info.name not in got:
            problems.append(f"{info.name}: not a network output")
            continue
        try:
            problem = compare(got[info.name], want, case.rtol, case.atol)
        except Exception as error:
            return "fail", f"comparing {info.name}: {_first_line(error)}"
        if problem:
            problems.append(f"{info.name}: {problem}")
    return ("differ", "; ".join(problems)) if problems else ("match", "")


def compare(got: torch.Tensor, want, rtol: float, atol: float) -> str:
    """'' when ``got`` matches ``want`` within ``|got - want| <= atol + rtol |want|``, else what differs."""
    want = as_array(want)
    if want.dtype == object:  # string tensors: TensorRT has none
        return "string output"
    narrow = got.is_floating_point() and got.dtype not in (torch.float32, torch.float64, torch.float16)
    got_array = got.float().numpy() if narrow else got.numpy()
    want = _standard(want)
    if tuple(got_array.shape) != tuple(want.shape):
        return f"shape {tuple(got_array.shape)} vs expected {tuple(want.shape)}"
    if want.dtype.kind in "fc" or got_array.dtype.kind == "f":
        a, b = got_array.astype(np.float64), want.astype(np.float64)
        same_nan = np.isnan(a) == np.isnan(b)
        close = np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
        if not (same_nan.all() and close.all()):
            bad = np.argwhere(~close)[0] if not close.all() else np.argwhere(~same_nan)[0]
            index = tuple(int(i) for i in bad)
            return f"max |diff| {np.nanmax(np.abs(a - b)):.3g} (first at {index}: {a[index]:.6g} vs {b[index]:.6g})"
        return ""
    if not np.array_equal(
        got_array.astype(np.int64) if got_array.dtype != bool else got_array,
        want.astype(np.int64) if want.dtype != bool else want,
    ):
        index = tuple(int(i) for i in np.argwhere(got_array != want)[0])
        return f"values differ (first at {index}: {got_array[index]} vs {want[index]})"
    return ""


def fingerprint(network) -> list:
    """The network's layers as comparable data: type, where each input comes from (a layer index and output, or a
    network input's position) and every readable attribute (weights by value); names left out."""
    from trt_helper.reference.registry import downcast

    trt = trt_helper.get_backend().trt
    inputs = {network.get_input(i).name: ("input", i) for i in range(network.num_inputs)}
    produced = {}
    rows = []
    for index in range(network.num_layers):
        layer, kind = downcast(trt, network.get_layer(index))
        sources = [
            None if t is None else produced.get(t.name, inputs.get(t.name))
            for t in (layer.get_input(i) for i in range(layer.num_inputs))
        ]
        attributes = _attributes(trt, layer, depth=1)
        rows.append((kind, sources, sorted(attributes.items())))
        for i in range(layer.num_outputs):
            produced[layer.get_output(i).name] = (index, i)
    return rows


def _attributes(trt, obj, depth) -> dict:
    """``obj``'s readable public attributes as plain values; objects (a layer's IAttention, ILoop …) by their own
    attributes, one level deep."""
    attributes = {}
    for attribute in dir(obj):
        if attribute.startswith("_") or attribute in ("name", "metadata", "precision", "precision_is_set"):
            continue
        try:
            value = getattr(obj, attribute)
        except Exception:
            continue
        if callable(value):
            continue
        if isinstance(value, (trt.Weights, np.ndarray)):
            array = np.asarray(value)
            value = (str(array.dtype), array.shape, array.tobytes())
        elif isinstance(value, trt.ITensor):
            value = ("tensor", value.name)
        elif hasattr(value, "name") and hasattr(value, "value"):  # an enum
            value = str(value)
        elif not isinstance(value, (int, float, bool, str, type(None))):
            try:
                value = tuple(value)
            except TypeError:
                value = sorted(_attributes(trt, value, depth - 1).items()) if depth > 0 else type(value).__name__
        attributes[attribute] = value
    return attributes


def _standard(array: np.ndarray) -> np.ndarray:
    """ml_dtypes arrays (bfloat16, float8, float4, int4) as float32 / int64."""
    name = array.dtype.name
    if name.startswith(("bfloat16", "float8", "float4")):
        return array.astype(np.float32)
    if name in ("int4", "uint4", "int2", "uint2"):
        return array.astype(np.int64)
    return array


def _first_line(error) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__


def _worker(names):
    cases = load_cases()
    return [(name, *run_case(cases[name])) for name in names]


def main(argv=None):
    import argparse
    import json
    from concurrent.futures import ProcessPoolExecutor

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--json", help="write {case: [status, detail]} here")
    parser.add_argument("names", nargs="*")
    args = parser.parse_args(argv)
    names = args.names or sorted(load_cases())
    chunks = [names[i :: args.jobs] for i in range(args.jobs)]
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = sorted(row for part in pool.map(_worker, chunks) for row in part)
    counts = {status: sum(1 for row in rows if row[1] == status) for status in STATUSES}
    print(
        f"{len(rows)} cases: parsed {len(rows) - counts['refused']}, "
        + ", ".join(f"{status} {count}" for status, count in counts.items())
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({name: [status, detail] for name, status, detail in rows}, f, indent=0, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    sys.exit(main())
