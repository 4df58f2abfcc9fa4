"""T3 (GPU): FMoEExpert clones allocate no device memory (the plugin holds fields only; everything lives in the
workspace): create, enqueue, clone x50, enqueue from every clone, and measure free device memory around it."""

from __future__ import annotations

import pytest
import torch

from trt_helper.plugins import harness_enqueue, tensor_spec

from .test_plugin_enqueue_gpu import fmoe_inputs, fmoe_plugin_inputs

pytestmark = pytest.mark.gpu


def test_fmoe_clones_allocate_nothing(lib, cuda, gen):
    shape, experts, hidden = (4, 64, 128), 8, 256
    tensors = fmoe_inputs(shape, experts, hidden, torch.float16, cuda, gen, True, True)
    inputs = fmoe_plugin_inputs(*tensors)
    fields = {"num_experts": experts, "hidden": hidden, "act": 0, "has_score": 1, "has_lengths": 1}
    plugin = lib.create("FMoEExpert", fields)
    y = torch.full(shape, float("nan"), dtype=torch.float16, device=cuda)
    specs = [tensor_spec(t) for t in inputs], [tensor_spec(y)]
    workspace = torch.empty(plugin.workspace_size(*specs), dtype=torch.uint8, device=cuda)
    assert harness_enqueue(plugin, inputs, [y], workspace=workspace) == 0
    torch.cuda.synchronize()
    first = y.clone()
    free_before = torch.cuda.mem_get_info()[0]

    clones = [plugin.clone() for _ in range(50)]
    free_after_clone = torch.cuda.mem_get_info()[0]
    out = torch.empty_like(y)
    for clone in clones:
        out.fill_(float("nan"))
        assert harness_enqueue(clone, inputs, [out], workspace=workspace) == 0
        torch.cuda.synchronize()
        assert torch.equal(out, first), "a clone computed something else"
    free_after = torch.cuda.mem_get_info()[0]

    print(
        f"clone memory: {free_before - free_after_clone} bytes for 50 clones, {free_before - free_after} bytes "
        f"after 50 enqueues from clones"
    )
    assert free_before - free_after_clone == 0
    assert free_before - free_after == 0
