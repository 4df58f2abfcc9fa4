"""ONNX's backend node tests through the backend's ONNX parser and the reference executor.

Every case must end as ``onnx_node_expectations.json`` says: absent from it, the outputs match ONNX's expected
data; present, the case is refused by the parser or differs, for the recorded reason. Parser bugs carry a proof
that this test re-checks (``twin``: the model with the listed attributes changed builds the very same network;
``unused_input``: no layer reads that ONNX input; ``output_shape`` / ``output_dtype``: the network declares
another shape / type than ONNX; ``max_abs``: a tolerance case stays within it; ``same_rows``: the same rows in
another order). By default every refused and non-matching case runs, plus every third matching one (about 17 s of
CPU with the ~10 s collection); ``TRT_HELPER_ONNX_SUITE=full`` runs all of them (about 22 s).
"""

import json
import os
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

import trt_helper

from .onnx_node_suite import as_array, fingerprint, run_case, to_torch

onnx = pytest.importorskip("onnx")

TABLE = Path(__file__).with_name("onnx_node_expectations.json")


def _expectations():
    return json.loads(TABLE.read_text())


def _selected(cases, table):
    full = os.environ.get("TRT_HELPER_ONNX_SUITE") == "full"
    return [name for name in sorted(cases) if full or name in table or zlib.crc32(name.encode()) % 3 == 0]


def test_node_suite_matches_the_table(node_cases):
    table = _expectations()
    unknown = sorted(set(table) - set(node_cases))
    assert not unknown, f"the table names cases ONNX no longer has: {unknown[:10]}"
    surprises = []
    counts = {}
    for name in _selected(node_cases, table):
        status, detail = run_case(node_cases[name])
        counts[status] = counts.get(status, 0) + 1
        expected = table.get(name, {"status": "match"})["status"]
        if status != expected:
            surprises.append(f"{name}: {status} (table: {expected}) {detail}")
    print(f"ONNX node suite: {counts}")
    assert not surprises, f"{len(surprises)} cases changed:\n" + "\n".join(surprises[:40])


def _network(model):
    return trt_helper.NetworkHelper.fromOnnx(model.SerializeToString()).network


def _twin(model, changes):
    twin = onnx.ModelProto()
    twin.CopyFrom(model)
    (node,) = twin.graph.node
    for name, value in changes.items():
        kept = [a for a in node.attribute if a.name != name]
        del node.attribute[:]
        node.attribute.extend(kept)
        if value is not None:
            node.attribute.append(onnx.helper.make_attribute(name, value))
    return twin


def _proved(case, proof):
    """'' when ``proof`` holds for ``case``, else why not."""
    model = case.model
    network = _network(model)
    if "twin" in proof:
        same = fingerprint(network) == fingerprint(_network(_twin(model, proof["twin"])))
        return "" if same else f"the twin {proof['twin']} builds another network"
    if "unused_input" in proof:
        name = proof["unused_input"]
        read = any(
            layer.get_input(i) is not None and layer.get_input(i).name == name
            for layer in (network.get_layer(j) for j in range(network.num_layers))
            for i in range(layer.num_inputs)
        )
        return "" if not read else f"a layer reads input {name}"
    outputs = {network.get_output(i).name: network.get_output(i) for i in range(network.num_outputs)}
    onnx_outputs = {o.name: o.type.tensor_type for o in model.graph.output}
    if "output_shape" in proof:
        name = proof["output_shape"]
        onnx_shape = tuple(d.dim_value for d in onnx_outputs[name].shape.dim)
        return "" if tuple(outputs[name].shape) != onnx_shape else f"{name} has ONNX's shape {onnx_shape}"
    if "output_dtype" in proof:
        name = proof["output_dtype"]
        onnx_type = onnx.helper.tensor_dtype_to_np_dtype(onnx_outputs[name].elem_type)
        ours = trt_helper.reference.dtypes.carrier(outputs[name].dtype)
        return "" if torch.from_numpy(np.zeros(1, onnx_type)).dtype != ours else f"{name} has ONNX's type"
    got = _evaluate(case)
    expected = dict(zip([o.name for o in model.graph.output], case.data_sets[0][1]))
    if "max_abs" in proof:
        worst = max(float((got[n].float() - to_torch(w).float()).abs().max()) for n, w in expected.items())
        return "" if worst <= proof["max_abs"] else f"max |diff| {worst} > {proof['max_abs']}"
    if "same_rows" in proof:
        name = proof["same_rows"]
        ours, theirs = got[name].tolist(), as_array(expected[name]).tolist()
        return "" if sorted(ours) == sorted(theirs) else "the selected rows differ"
    return f"unknown proof {proof}"


def _evaluate(case):
    helper = trt_helper.NetworkHelper.fromOnnx(case.model.SerializeToString())
    network = helper.network
    names = [v.name for v in case.model.graph.input]
    feeds = {
        network.get_input(i).name: to_torch(value, trt_helper.reference.dtypes.carrier(network.get_input(i).dtype))
        for i, value in zip(range(network.num_inputs), case.data_sets[0][0])
        if network.get_input(i).name in names
    }
    return helper.reference(feeds)


def test_parser_bugs_and_tolerances_are_proved(node_cases):
    failures = []
    for name, entry in sorted(_expectations().items()):
        if "proof" in entry:
            why_not = _proved(node_cases[name], entry["proof"])
            if why_not:
                failures.append(f"{name}: {why_not}")
    assert not failures, "\n".join(failures)


def test_table_attributes_every_entry():
    kinds = ("parser refusal", "parser bug", "tolerance", "ONNX vs TensorRT", "random")
    for name, entry in _expectations().items():
        assert entry["status"] in ("refused", "differ", "fail"), name
        assert entry["why"].startswith(kinds), f"{name}: {entry['why']}"
        if entry["why"].startswith(("parser bug", "tolerance")):
            assert "proof" in entry, f"{name}: a parser bug or tolerance needs a proof"
