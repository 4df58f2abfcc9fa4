"""Helper-built conformer-MoE networks through the reference executor vs the PyTorch forward (tier T1).

Metric: ``max|network − torch| / max|torch|`` over valid frames (trt_helper.compare's max_rel).
Bounds from issue 4: fp32 ≤ 1e-4; fp16 network vs fp32 PyTorch ≤ 2e-2. An utterance alone vs padded in a batch
(issue 17): ≤ 1e-5 (fp32), in PyTorch and in the network.
"""

import pytest
import torch

import trt_helper
from models.conformer_moe import build_model, get_config
from models.conformer_moe.blocks import MoEConformerBlock
from models.conformer_moe.build import make_helper
from models.conformer_moe.network import Profile
from models.conformer_moe.positional import sinusoidal_table
from trt_helper import rel_error

torch.set_grad_enabled(False)

FP32_BOUND, FP16_BOUND = 1e-4, 2e-2
PADDING_BOUND = 1e-5


def max_rel_valid(actual, expected, lengths):
    """max|a−b| / max|b| over frames t < lengths[b] (trt_helper.rel_error on the valid frames)."""
    valid = torch.arange(expected.shape[1])[None, :] < torch.as_tensor(lengths)[:, None]
    return rel_error(actual, expected, valid=valid.view(*valid.shape, *([1] * (expected.dim() - 2))))


@pytest.fixture(scope="module")
def small():
    return build_model("small", seed=11)


@pytest.fixture(scope="module")
def small_fp32(small):
    return make_helper(small, "fp32")


def features(batch, frames, lengths, seed=0, input_dim=80):
    feat = torch.randn(batch, frames, input_dim, generator=torch.Generator().manual_seed(seed))
    return feat, torch.tensor(lengths, dtype=torch.int32)


@pytest.mark.parametrize("precision, bound", [("fp32", FP32_BOUND), ("fp16", FP16_BOUND)])
def test_small_network_matches_pytorch_on_a_padded_batch(small, small_fp32, precision, bound):
    helper = small_fp32 if precision == "fp32" else make_helper(small, "fp16")
    feat, feat_len = features(3, 163, [163, 120, 41])
    out = helper.reference({"feat": feat, "feat_len": feat_len})
    expected, expected_len = small(feat, feat_len)
    assert out["out_len"].tolist() == expected_len.tolist() == [40, 29, 9]
    assert out["logits"].dtype == torch.float32 and out["logits"].shape == expected.shape
    err = max_rel_valid(out["logits"], expected, expected_len.tolist())
    print(f"{precision}: max_rel {err:.3e}")
    assert err <= bound


def test_per_module_report_has_every_module_within_fp32_bound(small, small_fp32):
    feat, feat_len = features(2, 90, [90, 90], seed=1)
    tensors = small_fp32.reference({"feat": feat, "feat_len": feat_len}, debug=True)
    report = trt_helper.compare(trt_helper.capture(small, feat, feat_len), tensors, rtol=FP32_BOUND)
    print(report)
    names = {row.name for row in report}
    for module in (
        "embed.subsampling:0",
        "embed.blocks.1.conv_module",
        "subsampling:1",
        "pos_enc:1",
        "blocks.0.self_attn",
        "blocks.1.feed_forward",
        "blocks.1.norm_final",
        "out_linear",
    ):
        assert module in names, module
    assert report.first_bad is None, str(report.first_bad)


def test_all_lengths_equal_to_frames(small, small_fp32):
    feat, feat_len = features(3, 64, [64, 64, 64], seed=2)
    out = small_fp32.reference({"feat": feat, "feat_len": feat_len})
    expected, _ = small(feat, feat_len)
    assert out["out_len"].tolist() == [15, 15, 15]
    assert max_rel_valid(out["logits"], expected, [15] * 3) <= FP32_BOUND


def test_utterance_too_short_for_subsampling_gets_no_frames(small, small_fp32):
    # PyTorch refuses it (test_conformer_torch); the network defines it: out_len 0, finite outputs, and the
    # other utterance is unaffected (it equals that utterance run alone).
    feat, feat_len = features(2, 64, [64, 5], seed=3)
    out = small_fp32.reference({"feat": feat, "feat_len": feat_len})
    assert out["out_len"].tolist() == [15, 0]
    assert torch.isfinite(out["logits"]).all()
    alone, _ = small(feat[:1], feat_len[:1])
    assert max_rel_valid(out["logits"][:1], alone, [15]) <= FP32_BOUND


@pytest.mark.parametrize("seed", [5, 6])
def test_valid_frames_do_not_depend_on_padding(small, small_fp32, seed):
    # An utterance alone vs padded with random garbage next to a longer one, in PyTorch and in the network: the
    # valid frames agree to fp32 rounding (the leak through the conv module's depthwise conv was 2e-2 of max|logits|).
    feat, feat_len = features(1, 61, [61], seed=seed)
    padded, padded_len = features(2, 97, [61, 97], seed=seed + 100)
    padded[:1, :61] = feat
    padded[:1, 61:] *= 10
    out_len = [14]
    alone, _ = small(feat, feat_len)
    batched, _ = small(padded, padded_len)
    assert max_rel_valid(batched[:1, :14], alone, out_len) <= PADDING_BOUND
    alone_net = small_fp32.reference({"feat": feat, "feat_len": feat_len})
    batched_net = small_fp32.reference({"feat": padded, "feat_len": padded_len})
    assert batched_net["out_len"].tolist() == [14, 23]
    assert max_rel_valid(batched_net["logits"][:1, :14], alone_net["logits"], out_len) <= PADDING_BOUND


def test_frames_at_profile_maximum(small, small_fp32):
    frames = Profile().max_frames
    feat, feat_len = features(1, frames, [frames], seed=4)
    out = small_fp32.reference({"feat": feat, "feat_len": feat_len})
    expected, expected_len = small(feat, feat_len)
    assert out["out_len"].tolist() == expected_len.tolist() == [((frames - 1) // 2 - 1) // 2]
    assert max_rel_valid(out["logits"], expected, expected_len.tolist()) <= FP32_BOUND


def full_block_network(block, d_model, dtype):
    helper = trt_helper.NetworkHelper(dtype, name="block")
    shape = dict(min_shape=(1, 1, d_model), opt_shape=(2, 40, d_model), max_shape=(4, 400, d_model))
    x = helper.addCast(helper.addInput("x", torch.float32, (-1, -1, d_model), **shape), dtype)
    embed = helper.addCast(helper.addInput("embed", torch.float32, (-1, -1, d_model), **shape), dtype)
    lengths = helper.addInput("lengths", torch.int32, (-1,), min_shape=(1,), opt_shape=(2,), max_shape=(4,))
    pos = helper.addCast(
        helper.addInput(
            "pos_emb",
            torch.float32,
            (1, -1, d_model),
            min_shape=(1, 1, d_model),
            opt_shape=(1, 40, d_model),
            max_shape=(1, 400, d_model),
        ),
        dtype,
    )
    helper.markOutput(helper.addCast(helper(block, x, lengths, pos, embed), torch.float32), "y")
    return helper


@pytest.mark.parametrize("config_name", ["3m-asr", "litleo-18l"])
def test_one_full_size_moe_block(config_name):
    config = get_config(config_name)
    torch.manual_seed(5)
    block = MoEConformerBlock(
        config.d_model, config.heads, config.kernel_size, config.num_experts, config.expert_hidden, config.d_model
    ).eval()
    generator = torch.Generator().manual_seed(6)
    frames, lengths = 48, [48, 31]
    inputs = {
        "x": torch.randn(2, frames, config.d_model, generator=generator),
        "embed": torch.randn(2, frames, config.d_model, generator=generator),
        "lengths": torch.tensor(lengths, dtype=torch.int32),
        "pos_emb": sinusoidal_table(frames, config.d_model),
    }
    expected = block(inputs["x"], inputs["lengths"], inputs["pos_emb"], inputs["embed"])
    used = set(block.feed_forward.route(block.norm_ff(inputs["x"]), inputs["embed"])[1].flatten().tolist())
    assert len(used) > 4  # the check covers many experts, not one
    for dtype, bound in ((torch.float32, FP32_BOUND), (torch.float16, FP16_BOUND)):
        out = full_block_network(block, config.d_model, dtype).reference(inputs)["y"]
        err = max_rel_valid(out, expected, lengths)
        print(f"{config_name} {dtype}: max_rel {err:.3e}, experts used {len(used)}")
        assert err <= bound, (config_name, dtype, err)


def test_wrong_feature_size_names_the_module_and_shapes(small):
    helper = trt_helper.NetworkHelper(torch.float32, name="conformer")
    helper.setModel(small)
    feat = helper.addInput(
        "feat", torch.float32, (-1, -1, 40), min_shape=(1, 7, 40), opt_shape=(1, 50, 40), max_shape=(2, 100, 40)
    )
    lengths = helper.addInput("feat_len", torch.int32, (-1,), min_shape=(1,), opt_shape=(1,), max_shape=(2,))
    with pytest.raises(ValueError, match=r"subsampling\.out\.0.*\(-1, -1, 576\).*1216"):
        helper(small.subsampling, feat, lengths)


@pytest.mark.parametrize(
    "text, words", [("1x7:1x206", "MINBxMINT"), ("1x3:1x206:6x6100", "7 <= min"), ("2x7:1x206:6x6100", "1 <= min")]
)
def test_bad_profile_is_refused(text, words):
    with pytest.raises(ValueError, match="profile") as err:
        Profile.parse(text)
    assert words in str(err.value)


def test_profile_longer_than_positional_table_is_refused(small):
    with pytest.raises(ValueError, match=r"ConformerMoEEncoder\(small\): profile max 30000 frames"):
        make_helper(small, "fp32", Profile(max_frames=30000))


@pytest.mark.slow
@pytest.mark.parametrize("config_name", ["litleo-18l", "3m-asr"])
def test_full_config_network_matches_pytorch(config_name):
    # The whole full-size encoder (embed net + all MoE blocks) in fp32 and fp16; ~9 GB RSS, ~1 min each.
    model = build_model(config_name, seed=0)
    feat, feat_len = features(2, 206, [206, 150], seed=8, input_dim=model.config.input_dim)
    expected, expected_len = model(feat, feat_len)
    for precision, bound in (("fp32", FP32_BOUND), ("fp16", FP16_BOUND)):
        out = make_helper(model, precision).reference({"feat": feat, "feat_len": feat_len})
        assert out["out_len"].tolist() == expected_len.tolist() == [50, 36]
        err = max_rel_valid(out["logits"], expected, expected_len.tolist())
        print(f"{config_name} {precision}: max_rel {err:.3e}")
        assert err <= bound


def test_plugin_impl_without_plugin_layers_is_refused_clearly(small):
    if trt_helper.get_backend().can_add_plugin_layers:
        pytest.skip("this backend can add plugin layers")
    with pytest.raises(RuntimeError, match="impl='plugin' needs a backend with plugin layers"):
        make_helper(small, "fp32", impl="plugin")
