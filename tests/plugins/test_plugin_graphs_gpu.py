"""T3 (GPU): every plugin's enqueue captured in a CUDA graph (torch.cuda.graph, capture_error_mode "global") and
replayed with new input values written into the captured buffers, against the PyTorch references. Outputs are
poisoned before each replay, so every element must come from the replay. A capture fails if enqueue waits on the
host (cudaStreamSynchronize, cudaEventSynchronize, a blocking copy) or allocates, so a passing capture also shows
that enqueue never waits. FMoEExpert is replayed with new routings: random, all tokens on one expert (the others
empty), only two experts used, all tokens padded. Tolerances as in test_plugin_enqueue_gpu."""

from __future__ import annotations

import math

import pytest
import torch

from trt_helper.plugins import (
    AttMaskedSoftmax,
    FMoEExpert,
    LayerNorm,
    MaskConv2dSubsample,
    MaskedFill,
    RelPositionalEncoding,
    SoftmaxTopK,
    harness_enqueue,
    tensor_spec,
)
from trt_helper.plugins.common import pad_mask

from .test_plugin_enqueue_gpu import (
    DTYPES,
    IDS,
    check,
    fmoe_inputs,
    lengths_for,
    poisoned,
    randn,
)

pytestmark = pytest.mark.gpu


class Captured:
    """A plugin configured for fixed tensors, run once eagerly (warm-up on a side stream), then captured."""

    def __init__(self, lib, name, fields, inputs, outputs):
        self.inputs, self.outputs = inputs, outputs
        plugin = lib.create(name, fields, "build", f"graph_{name}")
        assert plugin is not None, name
        specs = [tensor_spec(t) for t in inputs], [tensor_spec(t) for t in outputs]
        self.workspace = torch.empty(max(plugin.workspace_size(*specs), 1), dtype=torch.uint8, device="cuda")
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            assert harness_enqueue(plugin, inputs, outputs, workspace=self.workspace) == 0
        torch.cuda.current_stream().wait_stream(side)
        torch.cuda.synchronize()
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph, capture_error_mode="global"):
            status = harness_enqueue(plugin, inputs, outputs, workspace=self.workspace)
        assert status == 0, f"{name}: enqueue failed during capture"

    def replay(self, *new_inputs):
        """Copies new values into the captured inputs, poisons the outputs, replays; returns the outputs."""
        for buffer, value in zip(self.inputs, new_inputs):
            buffer.copy_(value)
        for out in self.outputs:
            out.copy_(poisoned(out.shape, out.dtype, out.device))
        self.graph.replay()
        torch.cuda.synchronize()
        return self.outputs


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
def test_layer_norm_graph(lib, cuda, gen, dtype):
    shape = (8, 17, 512)
    make = lambda: (
        randn(shape, dtype, cuda, gen, 3.0) + 1.0,
        randn(shape[-1:], dtype, cuda, gen),
        randn(shape[-1:], dtype, cuda, gen),
    )
    cap = Captured(lib, "LayerNorm", {"eps": 1e-5}, list(make()), [poisoned(shape, dtype, cuda)])
    for _ in range(3):
        x, gamma, beta = make()
        (y,) = cap.replay(x, gamma, beta)
        check(y, LayerNorm.reference(x.cpu(), gamma.cpu(), beta.cpu(), 1e-5), dtype, "LayerNorm replay")


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
def test_att_masked_softmax_graph(lib, cuda, gen, dtype):
    shape = (4, 2, 7, 300)
    scale = 1.0 / math.sqrt(64)
    cap = Captured(
        lib,
        "AttMaskedSoftmax",
        {"scale": scale},
        [randn(shape, dtype, cuda, gen), lengths_for(4, shape[-1], gen, cuda)],
        [poisoned(shape, dtype, cuda)],
    )
    for _ in range(3):
        scores, lengths = randn(shape, dtype, cuda, gen, 4.0), lengths_for(4, shape[-1], gen, cuda)
        (y,) = cap.replay(scores, lengths)
        check(y, AttMaskedSoftmax.reference(scores.cpu(), lengths.cpu(), scale), dtype, "AttMaskedSoftmax replay")


@pytest.mark.parametrize("layout", [0, 1], ids=["BCT", "BTC"])
def test_masked_fill_graph(lib, cuda, gen, layout):
    shape, dtype = (4, 24, 40), torch.float16
    time = shape[2] if layout == 0 else shape[1]
    cap = Captured(
        lib,
        "MaskedFill",
        {"fill": -3.5, "layout": layout},
        [randn(shape, dtype, cuda, gen), lengths_for(4, time, gen, cuda)],
        [poisoned(shape, dtype, cuda)],
    )
    for _ in range(3):
        x, lengths = randn(shape, dtype, cuda, gen), lengths_for(4, time, gen, cuda)
        (y,) = cap.replay(x, lengths)
        assert torch.equal(y.cpu(), MaskedFill.reference(x.cpu(), lengths.cpu(), -3.5, layout).to(dtype))


def test_subsample_lengths_graph(lib, cuda, gen):
    make = lambda: torch.randint(0, 5000, (33,), generator=gen, dtype=torch.int32).to(cuda)
    cap = Captured(lib, "MaskConv2dSubsample", {"factor": 6}, [make()], [poisoned((33,), torch.int32, cuda)])
    for _ in range(3):
        lengths = make()
        (out,) = cap.replay(lengths)
        assert torch.equal(out.cpu(), MaskConv2dSubsample.reference(lengths.cpu(), 6))


def test_rel_positional_encoding_graph(lib, cuda, gen):
    shape, dtype = (4, 50, 64), torch.float16
    pe = RelPositionalEncoding.sinusoid_table(200, 64).to(dtype).to(cuda)
    cap = Captured(
        lib,
        "RelPositionalEncoding",
        {"scale": 8.0},
        [randn(shape, dtype, cuda, gen), pe.clone()],
        [poisoned(shape, dtype, cuda), poisoned((1, 50, 64), dtype, cuda)],
    )
    for _ in range(3):
        x, table = randn(shape, dtype, cuda, gen), randn(pe.shape, dtype, cuda, gen)
        y, pos = cap.replay(x, table)
        want_y, want_pos = RelPositionalEncoding.reference(x.cpu(), table.cpu(), 8.0)
        check(y, want_y, dtype, "x * scale replay")
        assert torch.equal(pos.cpu(), want_pos.to(dtype))


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
def test_router_top1_graph(lib, cuda, gen, dtype):
    shape = (4, 33, 32)
    cap = Captured(
        lib,
        "SoftmaxTopK",
        {},
        [randn(shape, dtype, cuda, gen), lengths_for(4, 33, gen, cuda)],
        [poisoned((4, 33, 1), dtype, cuda), poisoned((4, 33, 1), torch.int32, cuda)],
    )
    for _ in range(3):
        logits, lengths = randn(shape, dtype, cuda, gen, 3.0), lengths_for(4, 33, gen, cuda)
        value, index = cap.replay(logits, lengths)
        want_value, want_index = SoftmaxTopK.reference(logits.cpu(), lengths.cpu())
        check(value, want_value, dtype, "top-1 value replay")
        assert torch.equal(index.cpu(), want_index)


def routings(shape, experts, gen, device):
    """(name, expert ids) replayed into one captured FMoEExpert: new random ids, all on one expert (the others
    empty), only experts 0 and E-1 used, and another random draw."""
    b, t = shape[:2]
    rand = lambda: torch.randint(0, experts, (b, t), generator=gen, dtype=torch.int32).to(device)
    two = torch.where(torch.rand((b, t), generator=gen) < 0.5, 0, experts - 1).to(torch.int32).to(device)
    return [
        ("random", rand()),
        ("all on one expert", torch.full((b, t), experts // 2, dtype=torch.int32, device=device)),
        ("two experts, the rest empty", two),
        ("random again", rand()),
    ]


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("act", [0, 2], ids=["swish", "gelu"])
def test_fmoe_graph_new_routings(lib, cuda, gen, dtype, act):
    shape, experts, hidden = (4, 48, 64), 6, 128
    x, idx, score, lengths, w1, b1, w2, b2 = fmoe_inputs(shape, experts, hidden, dtype, cuda, gen, True, True)
    fields = {"num_experts": experts, "hidden": hidden, "act": act, "has_score": 1, "has_lengths": 1}
    cap = Captured(lib, "FMoEExpert", fields, [x, idx, score, lengths, w1, b1, w2, b2], [poisoned(shape, dtype, cuda)])
    round_hidden = None if dtype == torch.float32 else dtype
    cases = routings(shape, experts, gen, cuda)
    cases.append(("all tokens padded", cases[0][1]))
    for name, new_idx in cases:
        new = fmoe_inputs(shape, experts, hidden, dtype, cuda, gen, True, True)
        new_x, new_score, new_lengths = new[0], new[2], new[3]
        if name == "all tokens padded":
            new_lengths = torch.zeros_like(new_lengths)
        # new weights too: the graph must read them through the captured pointers, not a copy
        (y,) = cap.replay(new_x, new_idx, new_score, new_lengths, *new[4:])
        if name == "all tokens padded":
            assert (y == 0).all(), "all tokens padded: every row must be exactly 0"
            continue
        want = FMoEExpert.reference(
            new_x.cpu(),
            new_idx.cpu(),
            *(t.cpu() for t in new[4:]),
            act,
            new_score.cpu(),
            new_lengths.cpu(),
            round_hidden=round_hidden,
        )
        check(y, want, dtype, f"FMoEExpert replay ({name})")
        padded = ~pad_mask(new_lengths.cpu(), shape[1])
        assert (y.cpu()[padded] == 0).all(), f"{name}: padded tokens must give exactly 0"


@pytest.mark.parametrize("frames", [(1, 206), (8, 1024)], ids=["1x206", "8x1024"])
def test_fmoe_graph_3m_asr_sizes(lib, cuda, gen, frames):
    """The 3m-asr expert sizes (D 512, H 2048, E 32), fp16, at 1 x 206 frames (6 tokens per expert) and 8 x 1024
    frames (256 per expert; the two rows-per-expert buckets of the grouped-GEMM dispatch): every token on expert 31
    (31 empty experts), then a balanced routing, in one captured graph. The float64 reference runs on the GPU."""
    shape, experts, hidden, dtype = (*frames, 512), 32, 2048, torch.float16
    x, idx, _, _, w1, b1, w2, b2 = fmoe_inputs(shape, experts, hidden, dtype, cuda, gen, False, False)
    cap = Captured(
        lib,
        "FMoEExpert",
        {"num_experts": experts, "hidden": hidden, "act": 0},
        [x, idx, w1, b1, w2, b2],
        [poisoned(shape, dtype, cuda)],
    )
    skewed = torch.full(shape[:2], experts - 1, dtype=torch.int32, device=cuda)
    balanced = (torch.arange(shape[0] * shape[1], device=cuda, dtype=torch.int32) % experts).view(shape[:2])
    for name, new_idx in (("all on expert 31", skewed), ("balanced", balanced)):
        new_x = randn(shape, dtype, cuda, gen)
        (y,) = cap.replay(new_x, new_idx, w1, b1, w2, b2)
        want = FMoEExpert.reference(new_x, new_idx, w1, b1, w2, b2, 0, round_hidden=dtype)
        check(y, want, dtype, f"FMoEExpert 3m-asr sizes {frames} replay ({name})")
