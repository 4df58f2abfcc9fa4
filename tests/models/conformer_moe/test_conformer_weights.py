"""3m-asr/WeNet state-dict names: save → load round trip and clear errors."""

import pytest
import torch

from models.conformer_moe import build_model, load_3m_asr_state_dict, save_state_dict

torch.set_grad_enabled(False)

# Names and shapes read from tencent-ailab/3m-asr trainer/ (encoder.py, conformer_moe_catEmbed.py, layer/*.py)
# for the small config (F=80, D=64, 4 heads, E=4, H=128, embed FFN 128, V=32).
EXPECTED_3M_ASR_KEYS = {
    "subsampling.conv.0.weight": (64, 1, 3, 3),
    "subsampling.out.0.weight": (64, 64 * 19),
    "embed.subsampling.conv.2.bias": (64,),
    "embed.blocks.1.self_attn.pos_bias_u": (4, 16),
    "embed.blocks.0.feed_forward.w_1.weight": (128, 64),
    "embed.blocks.0.conv_module.depthwise_conv.weight": (64, 1, 15),
    "embed.after_norm.weight": (64,),
    "embed.out_linear.weight": (32, 64),
    "blocks.0.self_attn.linear_pos.weight": (64, 64),
    "blocks.0.self_attn.pos_bias_v": (4, 16),
    "blocks.1.feed_forward.router_weights": (128, 4),
    "blocks.1.feed_forward.experts.w_1.weight": (4, 128, 64),
    "blocks.1.feed_forward.experts.w_1.bias": (4, 128),
    "blocks.1.feed_forward.experts.w_2.weight": (4, 64, 128),
    "blocks.1.feed_forward.experts.w_2.bias": (4, 64),
    "blocks.0.feed_forward_macaron.w_2.weight": (64, 128),
    "blocks.0.conv_module.pointwise_conv1.weight": (128, 64, 1),
    "blocks.0.conv_module.norm.weight": (64,),
    "blocks.0.norm_ff_macaron.bias": (64,),
    "blocks.0.norm_final.weight": (64,),
    "blocks.0.concat_linear.weight": (64, 128),
    "after_norm.bias": (64,),
    "out_linear.weight": (32, 64),
}


def test_state_dict_uses_3m_asr_key_names():
    state = build_model("small").state_dict()
    for key, shape in EXPECTED_3M_ASR_KEYS.items():
        assert tuple(state[key].shape) == shape, key
    assert "blocks.0.self_attn.linear_pos.bias" not in state
    assert not any(k.endswith(".pe") for k in state)


def test_save_load_round_trip(tmp_path):
    source, target = build_model("small", seed=0), build_model("small", seed=1)
    path = tmp_path / "encoder.pt"
    save_state_dict(source, path)
    saved = torch.load(path, weights_only=True)
    assert all(k.startswith("encoder.") for k in saved)
    saved["decoder.decoders.0.self_attn.linear_q.weight"] = torch.zeros(3, 3)
    torch.save(saved, path)
    skipped = load_3m_asr_state_dict(target, path)
    assert skipped == ["decoder.decoders.0.self_attn.linear_q.weight"]
    for (key, a), b in zip(source.state_dict().items(), target.state_dict().values()):
        assert torch.equal(a, b), key
    feat, lens = torch.randn(2, 40, 80), torch.tensor([40, 33])
    torch.testing.assert_close(target(feat, lens)[0], source(feat, lens)[0], rtol=0, atol=0)


def test_bare_keys_and_dtype_cast():
    source = build_model("small", seed=0)
    target = build_model("small", seed=1, dtype=torch.float16)
    load_3m_asr_state_dict(target, source.state_dict())
    w = target.blocks[0].feed_forward.experts.w_2.weight
    assert w.dtype == torch.float16
    assert torch.equal(w, source.blocks[0].feed_forward.experts.w_2.weight.half())


@pytest.mark.parametrize(
    "edit, words",
    [
        (lambda s: s.pop("blocks.1.feed_forward.router_weights"), "lacks blocks.1.feed_forward.router_weights"),
        (
            lambda s: s.__setitem__("blocks.0.feed_forward.experts.w_1.weight", torch.zeros(8, 128, 64)),
            "(8, 128, 64), the model expects (4, 128, 64)",
        ),
        (lambda s: s.__setitem__("blocks.9.norm_ff.weight", torch.zeros(64)), "'blocks.9.norm_ff.weight' has no place"),
    ],
)
def test_bad_checkpoint_names_the_key(edit, words):
    state = dict(build_model("small").state_dict())
    edit(state)
    with pytest.raises(ValueError, match="ConformerMoEEncoder") as err:
        load_3m_asr_state_dict(build_model("small"), state)
    assert words in str(err.value)
