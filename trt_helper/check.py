"""Where does TensorRT's import of an ONNX model depart from ONNX? Compare onnxruntime with the backend's ONNX
parser + the reference executor, node output by node output.

    python -m trt_helper.check model.onnx [--inputs inputs.npz] [--shapes name:min,opt,max ...]

Both run on the same inputs (``--inputs``, else seeded random ones at the ``opt`` shapes). For every ONNX node
output that the parsed network keeps under its ONNX name, the report gives the largest difference and the first
element beyond tolerance, naming the ONNX node and the TensorRT layer that computes it. Exit status 0 when every
compared tensor agrees, 1 when one differs, 2 when the model cannot be run. A CPU oracle, not a TensorRT run.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch


@dataclass
class Row:
    """One ONNX node output compared: ``problem`` is '' when it agrees."""

    node: str
    op_type: str
    tensor: str
    layer: str
    layer_type: str
    max_abs: float
    problem: str

    def __str__(self):
        mark = "ok " if not self.problem else "BAD"
        text = (
            f"{mark} {self.op_type:<14} node '{self.node}' output '{self.tensor}' ← layer '{self.layer}' "
            f"({self.layer_type})"
        )
        return text + (f": {self.problem}" if self.problem else f" (max |diff| {self.max_abs:.3g})")


def random_inputs(model, shapes: dict[str, tuple], seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded random inputs for the model's graph inputs: normal floats, small non-negative ints, random bools.
    Dynamic dims take the ``opt`` shape from ``shapes``."""
    from onnx import helper as onnx_helper

    rng = np.random.default_rng(seed)
    initializers = {t.name for t in model.graph.initializer}
    feeds = {}
    for value in model.graph.input:
        if value.name in initializers:
            continue
        tensor_type = value.type.tensor_type
        if value.name in shapes:
            shape = tuple(shapes[value.name][1])
        else:
            shape = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in tensor_type.shape.dim)
            if -1 in shape:
                raise ValueError(
                    f"check: input '{value.name}' has dynamic dims {shape}: give --shapes {value.name}:min,opt,max"
                )
        dtype = np.dtype(onnx_helper.tensor_dtype_to_np_dtype(tensor_type.elem_type))
        if dtype.kind == "f":
            feeds[value.name] = rng.standard_normal(shape).astype(dtype)
        elif dtype.kind == "b":
            feeds[value.name] = rng.random(shape) < 0.5
        else:
            feeds[value.name] = rng.integers(0, 4, shape).astype(dtype)
    return feeds


def check(
    model_path,
    inputs: dict[str, np.ndarray] | None = None,
    shapes: dict[str, tuple] | None = None,
    rtol: float = 1e-3,
    atol: float = 1e-5,
    seed: int = 0,
) -> list[Row]:
    """Rows for every ONNX node output both sides compute, in graph order (see the module docstring)."""
    import onnx
    import onnxruntime

    import trt_helper

    shapes = shapes or {}
    model = onnx.load(str(model_path))
    feeds = inputs if inputs is not None else random_inputs(model, shapes, seed)
    helper = trt_helper.NetworkHelper.fromOnnx(model.SerializeToString(), shapes=shapes or None)
    network = helper.network
    declared = {network.get_input(i).name: network.get_input(i) for i in range(network.num_inputs)}
    from .reference.dtypes import carrier

    values = helper.reference(
        {name: torch.from_numpy(np.array(feeds[name])).to(carrier(tensor.dtype)) for name, tensor in declared.items()},
        debug=True,
    )
    producers: dict[str, tuple[str, str]] = {}
    for index in range(network.num_layers):
        layer = network.get_layer(index)
        for i in range(layer.num_outputs):
            producers[layer.get_output(i).name] = (layer.name, layer.type.name)
    wanted = _onnxruntime_all(onnx, onnxruntime, model, feeds, set(values))
    rows = []
    for node in model.graph.node:
        for name in node.output:
            if name in wanted and name in values:
                max_abs, problem = _compare(values[name], wanted[name], rtol, atol)
                layer_name, layer_type = producers.get(name, ("?", "?"))
                rows.append(
                    Row(
                        node.name or f"#{list(model.graph.node).index(node)}",
                        node.op_type,
                        name,
                        layer_name,
                        layer_type,
                        max_abs,
                        problem,
                    )
                )
    return rows


def _onnxruntime_all(onnx, onnxruntime, model, feeds, keep: set[str]) -> dict[str, np.ndarray]:
    """Every node output onnxruntime computes (those the network keeps), by name."""
    inferred = onnx.shape_inference.infer_shapes(model)
    known = {v.name: v for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
    extended = onnx.ModelProto()
    extended.CopyFrom(model)
    outputs = {o.name for o in extended.graph.output}
    for node in model.graph.node:
        for name in node.output:
            if name in keep and name not in outputs and name in known:
                extended.graph.output.append(known[name])
                outputs.add(name)
    session = onnxruntime.InferenceSession(extended.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))


def _compare(got: torch.Tensor, want: np.ndarray, rtol: float, atol: float) -> tuple[float, str]:
    got_array = got.float().numpy() if got.is_floating_point() else got.numpy()
    want = np.asarray(want)
    if got_array.shape != want.shape:
        return float("inf"), f"shape {got_array.shape}, onnxruntime {want.shape}"
    if got_array.size == 0:
        return 0.0, ""
    a, b = got_array.astype(np.float64), want.astype(np.float64)
    max_abs = float(np.nanmax(np.abs(a - b))) if np.isfinite(a - b).any() else 0.0
    bad = ~np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
    if not bad.any():
        return max_abs, ""
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    return max_abs, (
        f"{int(bad.sum())} of {bad.size} elements differ, first at {index}: reference {a[index]:.6g}, "
        f"onnxruntime {b[index]:.6g} (max |diff| {max_abs:.3g})"
    )


def _shape_arg(text: str) -> tuple[str, tuple]:
    name, _, dims = text.rpartition(":")
    parts = [tuple(int(d) for d in part.split("x")) for part in dims.split(",")]
    if not name or len(parts) != 3:
        raise argparse.ArgumentTypeError(
            f"--shapes {text!r}: expected name:MIN,OPT,MAX with dims joined by x, e.g. x:1x3x8,4x3x8,16x3x8"
        )
    return name, tuple(parts)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m trt_helper.check", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("model", type=Path)
    parser.add_argument("--inputs", type=Path, help=".npz with one array per graph input (default: seeded random)")
    parser.add_argument(
        "--shapes",
        type=_shape_arg,
        nargs="*",
        default=[],
        help="name:MIN,OPT,MAX for dynamic inputs, dims joined by x (e.g. x:1x8,4x8,16x8)",
    )
    parser.add_argument("--rtol", type=float, default=1e-3)
    parser.add_argument("--atol", type=float, default=1e-5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--all", action="store_true", help="print every compared output, not only the differing")
    args = parser.parse_args(argv)
    inputs = dict(np.load(args.inputs)) if args.inputs else None
    try:
        rows = check(args.model, inputs, dict(args.shapes), args.rtol, args.atol, args.seed)
    except Exception as error:
        print(f"check: {args.model}: {error}", file=sys.stderr)
        return 2
    bad = [row for row in rows if row.problem]
    for row in rows if args.all else bad:
        print(row)
    if bad:
        first = bad[0]
        print(
            f"first difference: ONNX node '{first.node}' ({first.op_type}), TensorRT layer '{first.layer}' "
            f"({first.layer_type}) — "
            f"{len(bad)} of {len(rows)} compared outputs differ"
        )
        return 1
    print(f"agree: {len(rows)} ONNX node outputs compared (rtol {args.rtol}, atol {args.atol})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
