"""Valid fields and example tensor signatures of every plugin, shared by the T2 and T3 tests."""

from __future__ import annotations

#: plugin name -> (valid fields, input (dims, type) list, output (dims, type) list) at fp16
PLUGINS = {
    "LayerNorm": ({"eps": 1e-5}, [((4, 7, 32), "float16"), ((32,), "float16"), ((32,), "float16")],
                  [((4, 7, 32), "float16")]),
    "AttMaskedSoftmax": ({"scale": 0.125}, [((2, 4, 5, 6), "float16"), ((2,), "int32")],
                         [((2, 4, 5, 6), "float16")]),
    "MaskedFill": ({"fill": 0.0, "layout": 0}, [((2, 8, 5), "float16"), ((2,), "int32")], [((2, 8, 5), "float16")]),
    "MaskConv2dSubsample": ({"factor": 4}, [((3,), "int32")], [((3,), "int32")]),
    "RelPositionalEncoding": ({"scale": 8.0}, [((2, 5, 16), "float16"), ((1, 40, 16), "float16")],
                              [((2, 5, 16), "float16"), ((1, 5, 16), "float16")]),
    "FMoEExpert": ({"num_experts": 4, "hidden": 8, "act": 0},
                   [((2, 3, 16), "float16"), ((2, 3), "int32"), ((4, 8, 16), "float16"), ((4, 8), "float16"),
                    ((4, 16, 8), "float16"), ((4, 16), "float16")],
                   [((2, 3, 16), "float16")]),
    "SoftmaxTopK": ({}, [((2, 3, 4), "float16"), ((2,), "int32")], [((2, 3, 1), "float16"), ((2, 3, 1), "int32")]),
}

#: plugin name -> list of (bad fields, words the logged reason must contain)
BAD_FIELDS = {
    "LayerNorm": [({}, "missing"), ({"eps": 1}, "FLOAT32"), ({"eps": -1.0}, ">= 0"),
                  ({"eps": 1e-5, "dim": 3}, "unknown"), ({"eps": ("float32", [1e-5, 1e-6])}, "length")],
    "AttMaskedSoftmax": [({}, "missing"), ({"scale": 2}, "FLOAT32"), ({"scale": float("inf")}, "finite")],
    "MaskedFill": [({"fill": 0.0}, "missing"), ({"fill": 0.0, "layout": 2}, "layout"),
                   ({"fill": 0.0, "layout": 1.0}, "INT32")],
    "MaskConv2dSubsample": [({}, "missing"), ({"factor": 5}, "4, 6 or 8"), ({"factor": -4}, "4, 6 or 8"),
                            ({"factor": "4"}, "INT32")],
    "RelPositionalEncoding": [({}, "missing"), ({"scale": 1}, "FLOAT32")],
    "FMoEExpert": [({"num_experts": 4, "hidden": 8}, "missing"),
                   ({"num_experts": -4, "hidden": 8, "act": 0}, "num_experts"),
                   ({"num_experts": 4, "hidden": 0, "act": 0}, "hidden"),
                   ({"num_experts": 4, "hidden": 8, "act": 3}, "act"),
                   ({"num_experts": 4, "hidden": 8.0, "act": 0}, "INT32"),
                   ({"num_experts": 4, "hidden": 8, "act": 0, "has_score": 2}, "has_score")],
    "SoftmaxTopK": [({"k": 1}, "unknown")],
}
