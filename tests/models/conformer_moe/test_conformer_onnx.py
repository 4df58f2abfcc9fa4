"""The ONNX export of the encoder (the comparison path) run by onnxruntime vs the PyTorch forward."""

import numpy as np
import torch

from models.conformer_moe import build_model
from models.conformer_moe.moe import MoEFeedForward
from models.conformer_moe.onnx_export import export_onnx

torch.set_grad_enabled(False)


def test_all_experts_formulation_equals_dispatch():
    torch.manual_seed(0)
    moe = MoEFeedForward(16, 16, num_experts=6, hidden=20)
    moe.router_weights.data.normal_()
    x, embed = torch.randn(2, 30, 16), torch.randn(2, 30, 16)
    dispatched = moe(x, embed)
    gate_value, gate_idx = moe.route(x, embed)
    dense = moe.all_experts(x.reshape(-1, 16), gate_idx.reshape(-1)).view_as(x) * gate_value.unsqueeze(-1)
    torch.testing.assert_close(dense, dispatched, rtol=1e-5, atol=1e-6)


def test_onnx_export_runs_in_onnxruntime_like_pytorch(tmp_path):
    import onnxruntime

    model = build_model("small", seed=7)
    path = export_onnx(model, tmp_path / "small.onnx", frames=64)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    feat = torch.randn(3, 150, 80)
    feat_len = torch.tensor([150, 97, 31], dtype=torch.int32)
    logits, out_len = session.run(None, {"feat": feat.numpy(), "feat_len": feat_len.numpy()})
    ref_logits, ref_len = model(feat, feat_len)
    np.testing.assert_array_equal(out_len, ref_len.numpy())
    for b, n in enumerate(ref_len.tolist()):  # valid frames only
        expected = ref_logits[b, :n].numpy()
        assert np.linalg.norm(logits[b, :n] - expected) / np.linalg.norm(expected) < 1e-5


def test_helper_network_has_at_most_half_the_onnx_layers(tmp_path):
    # Issue 4's goal for the ONNX comparison, kept as a regression check on the small config.
    from models.conformer_moe.build import make_helper
    from trt_helper import NetworkHelper
    from trt_helper.backend import get_backend

    model = build_model("small")
    backend = get_backend()
    parsed = NetworkHelper(torch.float32, name="onnx")
    parser = backend.trt.OnnxParser(parsed.network, backend.logger)
    assert parser.parse_from_file(export_onnx(model, tmp_path / "small.onnx"))
    helper_layers = make_helper(model, "fp32").network.num_layers
    print(f"helper {helper_layers} layers, ONNX {parsed.network.num_layers} layers")
    assert helper_layers <= 0.5 * parsed.network.num_layers
