"""A small random Llama saved by transformers and loaded back: our PyTorch model and the prefill/decode networks
(reference executor) against transformers' LlamaForCausalLM, generation, left padding, plan builds.

Tolerances (rel err = max|diff| / max|value|, against transformers in fp32): our PyTorch model and fp32 networks
<= 1e-5; fp16 networks <= 2e-2. Greedy tokens must equal transformers' ``generate``.
"""

import pytest
import torch

from models.llama.generate import Sampling, TorchRunner, generate, left_pad
from models.llama.networks import Profile, ReferenceRunner, network
from models.llama.weights import load
from trt_helper import rel_error

transformers = pytest.importorskip("transformers")
pytest.importorskip("safetensors")

VOCAB = 97
PROFILE = Profile(max_batch=4, opt_batch=2, max_prompt=32, opt_prompt=8, max_length=64)


@pytest.fixture(scope="module")
def peer_and_model(tmp_path_factory):
    """transformers' model (4 query heads, 2 key/value heads, head_dim 24 != hidden/heads) and ours from its files."""
    config = transformers.LlamaConfig(
        vocab_size=VOCAB,
        hidden_size=64,
        intermediate_size=96,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=24,
        rope_theta=1e4,
        rms_norm_eps=1e-5,
        max_position_embeddings=128,
        tie_word_embeddings=True,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
    )
    torch.manual_seed(0)
    peer = transformers.LlamaForCausalLM(config).eval()
    with torch.no_grad():  # random norm weights: a norm that drops its weight would still pass with ones
        for name, param in peer.named_parameters():
            if "norm" in name:
                param.uniform_(0.5, 1.5)
    directory = tmp_path_factory.mktemp("tiny_llama")
    peer.save_pretrained(directory)
    model, _ = load(directory)
    return peer, model


@pytest.fixture(scope="module")
def runners(peer_and_model):
    model = peer_and_model[1]
    return {
        "fp32": ReferenceRunner(model, torch.float32, PROFILE),
        "fp16": ReferenceRunner(model, torch.float16, PROFILE),
    }


def _ids(seed, *shape):
    return torch.randint(3, VOCAB, shape, generator=torch.Generator().manual_seed(seed))


def test_torch_model_logits_and_cache(peer_and_model):
    """Prompt logits and 4 cached steps equal transformers' (which runs the same prefix without our cache)."""
    peer, model = peer_and_model
    ids = _ids(1, 2, 11)
    with torch.no_grad():
        want = peer(ids).logits
        got, k, v = model(ids[:, :7])
        steps = [got]
        for t in range(7, 11):
            logits, k, v = model(ids[:, t : t + 1], k, v)
            steps.append(logits)
    assert rel_error(torch.cat(steps, 1), want) <= 1e-5
    assert tuple(k.shape) == (2, 2, 2, 11, 24)


def test_prefill_network_all_logits(peer_and_model):
    peer, model = peer_and_model
    helper = network(model, "prefill", torch.float32, PROFILE, logits="all")
    for seed, shape in ((2, (2, 9)), (3, (1, 17))):
        ids = _ids(seed, *shape)
        out = helper.reference({"input_ids": ids.int(), "pad": torch.zeros(shape[0], dtype=torch.int32)})
        with torch.no_grad():
            want = peer(ids, use_cache=True)
        assert rel_error(out["logits"], want.logits) <= 1e-5
        assert rel_error(out["present_k"], torch.stack([layer.keys for layer in want.past_key_values.layers])) <= 1e-5


@pytest.mark.parametrize("precision,tol", [("fp32", 1e-5), ("fp16", 2e-2)])
def test_decode_steps_vs_peer(peer_and_model, runners, precision, tol):
    """prefill + 6 decode steps through the networks: every step's logits vs transformers on the whole prefix."""
    peer, _ = peer_and_model
    runner = runners[precision]
    ids = _ids(4, 3, 12)
    pad = torch.zeros(3, dtype=torch.int64)
    logits, cache = runner.prefill(ids[:, :6], pad)
    with torch.no_grad():
        want = peer(ids).logits
    assert rel_error(logits, want[:, 5]) <= tol
    for t in range(6, 12):
        logits, cache = runner.step(ids[:, t : t + 1], pad, cache)
        assert rel_error(logits, want[:, t]) <= tol, f"step {t}"


def test_greedy_equals_peer_generate(peer_and_model, runners):
    peer, model = peer_and_model
    prompts = [_ids(5, 1, 9)[0].tolist(), _ids(6, 1, 4)[0].tolist()]
    for prompt in prompts:
        with torch.no_grad():
            out = peer.generate(
                torch.tensor([prompt]), max_new_tokens=10, do_sample=False, eos_token_id=None, pad_token_id=2
            )
        want = out[0, len(prompt) :].tolist()
        assert generate(TorchRunner(model), [prompt], None, Sampling(max_new_tokens=10)) == [want]
        assert generate(runners["fp32"], [prompt], None, Sampling(max_new_tokens=10)) == [want]


def test_mixed_lengths_equal_single_prompts(peer_and_model, runners):
    """Left-padded rows of different lengths give each prompt's own tokens (torch and reference fp32)."""
    _, model = peer_and_model
    prompts = [_ids(7, 1, 3)[0].tolist(), _ids(8, 1, 10)[0].tolist(), _ids(9, 1, 6)[0].tolist()]
    for runner in (TorchRunner(model), runners["fp32"]):
        single = [generate(runner, [p], None, Sampling(max_new_tokens=6))[0] for p in prompts]
        assert generate(runner, prompts, None, Sampling(max_new_tokens=6)) == single


def test_sampling_is_seeded_and_stops_on_eos(peer_and_model):
    _, model = peer_and_model
    prompt = [_ids(10, 1, 5)[0].tolist()]
    options = Sampling(max_new_tokens=12, temperature=0.8, top_k=20, top_p=0.9, seed=3)
    first = generate(TorchRunner(model), prompt, None, options)
    assert first == generate(TorchRunner(model), prompt, None, options)
    eos = first[0][2]
    stopped = generate(TorchRunner(model), prompt, eos, options)[0]
    assert stopped == first[0][: first[0].index(eos)]


def test_bad_generation_inputs():
    with pytest.raises(ValueError, match="at least one token"):
        left_pad([[1, 2], []], 0)
    with pytest.raises(ValueError, match="max_new_tokens must be a positive int"):
        Sampling(max_new_tokens=0)


def test_networks_build(peer_and_model, tmp_path):
    """Both networks build to plans (fp16) with TensorRT-RTX ahead of time."""
    pytest.importorskip("tensorrt_rtx")
    for name in ("prefill", "decode"):
        report = network(peer_and_model[1], name, torch.float16, PROFILE).build(tmp_path / f"{name}.plan")
        assert report.plan_bytes > 0


@pytest.mark.parametrize("weights,group_size", [("int8", None), ("int4", 32)])
def test_weight_only_networks(peer_and_model, weights, group_size):
    """int8 / int4 weight-only prefill networks (fp32, reference executor) = our PyTorch model with every linear's
    weight replaced by its round-to-nearest dequantized value (trt_helper.quant.quantize_weight)."""
    import copy

    from trt_helper.quant import quantize_weight

    model = peer_and_model[1]
    fake = copy.deepcopy(model)
    with torch.no_grad():
        for module in fake.modules():
            if isinstance(module, torch.nn.Linear):
                module.weight.copy_(
                    quantize_weight(module.weight, 8 if weights == "int8" else 4, group_size).dequantize()
                )
    helper = network(model, "prefill", torch.float32, PROFILE, logits="all", weights=weights, group_size=group_size)
    ids = _ids(11, 2, 9)
    out = helper.reference({"input_ids": ids.int(), "pad": torch.zeros(2, dtype=torch.int32)})
    with torch.no_grad():
        want, plain = fake(ids)[0], model(ids)[0]
    assert rel_error(out["logits"], want) <= 1e-5
    assert rel_error(plain, want) > 1e-4  # the quantization is visible: the check above is not vacuous
