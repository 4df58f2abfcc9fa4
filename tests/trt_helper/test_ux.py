"""Every public helper method and module function has a docstring (after tripy's tests/test_ux.py)."""

import inspect

import trt_helper
from trt_helper import NetworkHelper


def test_every_public_helper_method_is_documented():
    missing = [
        name
        for name, member in inspect.getmembers(NetworkHelper, callable)
        if not name.startswith("_") and not inspect.getdoc(member)
    ]
    assert not missing, f"undocumented NetworkHelper methods: {missing}"


def test_every_exported_name_is_documented():
    missing = [name for name in trt_helper.__all__ if not inspect.getdoc(getattr(trt_helper, name))]
    assert not missing, f"undocumented exports: {missing}"


def test_helper_has_the_issue_op_list():
    ops = """addInput markOutput markDebug addLinear addConv1d addConv2d addLayerNorm addBatchNorm1d addEmbedding addReLU
    addSiLU addGELU addSigmoid addTanh addGLU addAdd addSub addMul addDiv addMatMul addSoftmax addLogSoftmax addSum
    addMean addMax addSqrt addExp addLog addNeg addAbs addPow addClamp addReshape addTranspose addPermute
    addUnsqueeze addSqueeze addSlice addConcat addSplit addChunk addGather addIndexSelect addCast addShapeOf addTopK
    addArgMax addWhere addPad addMaskFromLengths build reference""".split()
    assert not [op for op in ops if not hasattr(NetworkHelper, op)]
