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
    """Both networks build to plans (fp16) with TensorRT-RTX ahead of time, also with an int8 cache (int8 slices
    and concatenations between quantize and dequantize) and with asymmetric int4 blocks (block offsets)."""
    pytest.importorskip("tensorrt_rtx")
    from trt_helper.quant import quantize_linears

    model = peer_and_model[1]
    quantized = quantize_linears(model, 4, 32)
    for qw in quantized.values():
        qw.offsets = torch.full_like(qw.scales, 0.01)
    scales = torch.full((2, 2), 0.05)
    variants = {"fp": {}, "kv_int8": {"kv_scales": scales}, "offsets": {"quantized": quantized}}
    for variant, options in variants.items():
        for name in ("prefill", "decode"):
            helper = network(model, name, torch.float16, PROFILE, **options)
            assert helper.build(tmp_path / f"{name}_{variant}.plan").plan_bytes > 0


@pytest.mark.parametrize("weights,group_size", [("int8", None), ("int4", 32)])
def test_weight_only_networks(peer_and_model, weights, group_size):
    """int8 / int4 weight-only prefill networks (fp32, reference executor) = our PyTorch model with every linear's
    weight and the tied token table (int8 in both: table_bits) replaced by their round-to-nearest dequantized values
    (trt_helper.quant.quantize_linears)."""
    from trt_helper.quant import fake_quantized, quantize_linears

    model = peer_and_model[1]
    bits = 8 if weights == "int8" else 4
    quantized = quantize_linears(model, bits, group_size, tables=("model.embed_tokens",))
    assert quantized["model.embed_tokens"].bits == 8 and len(quantized) == 2 * 7 + 1
    helper = network(model, "prefill", torch.float32, PROFILE, logits="all", weights=weights, group_size=group_size)
    ids = _ids(11, 2, 9)
    out = helper.reference({"input_ids": ids.int(), "pad": torch.zeros(2, dtype=torch.int32)})
    with torch.no_grad():
        want, plain = fake_quantized(model, quantized)(ids)[0], model(ids)[0]
        linears_only = fake_quantized(model, {**quantized, "model.embed_tokens": None})(ids)[0]
    assert rel_error(out["logits"], want) <= 1e-5
    assert rel_error(plain, want) > 1e-4  # the quantization is visible: the check above is not vacuous
    assert rel_error(linears_only, want) > 1e-4  # ... and so is the table's


def test_int8_kv_cache_networks(peer_and_model):
    """int8 cache (per-layer scales from calibration): the fp32 prefill + 5 decode steps (reference executor) =
    our PyTorch model with the same int8 cache over the whole prefix; the cache leaves as int8 and the int8 cache is
    visible (differs from the fp cache's logits)."""
    from models.llama.quant import kv_cache_scales

    model = peer_and_model[1]
    scales = kv_cache_scales(model, [_ids(12, 1, 20)[0].tolist(), _ids(13, 1, 7)[0].tolist()])
    runner = ReferenceRunner(model, torch.float32, PROFILE, kv_scales=scales)
    ids = _ids(14, 2, 11)
    pad = torch.zeros(2, dtype=torch.int64)
    model.set_kv_scales(scales)
    try:
        with torch.no_grad():
            want, want_k, _ = model(ids)
    finally:
        model.set_kv_scales(None)
    logits, cache = runner.prefill(ids[:, :6], pad)
    assert cache[0].dtype == torch.int8 and tuple(cache[0].shape) == (2, 2, 2, 6, 24)
    assert rel_error(logits, want[:, 5]) <= 1e-5
    for t in range(6, 11):
        logits, cache = runner.step(ids[:, t : t + 1], pad, cache)
        assert rel_error(logits, want[:, t]) <= 1e-5, f"step {t}"
    dequantized = cache[0].float() * scales[:, 0, None, None, None, None]
    assert torch.allclose(dequantized, want_k, rtol=0, atol=1e-6)
    with torch.no_grad():
        assert rel_error(model(ids)[0], want) > 1e-4


def test_block_offset_weights(peer_and_model):
    """Asymmetric int4 blocks (values, scale and an offset per 32 weights, like llama.cpp's Q4_1) through an fp32
    prefill network = our PyTorch model with the dequantized weights."""
    from trt_helper.quant import QuantizedWeight, fake_quantized

    model = peer_and_model[1]
    gen = torch.Generator().manual_seed(15)
    quantized = {}
    for path, module in model.named_modules():
        if isinstance(module, torch.nn.Linear):
            n, k = module.weight.shape
            quantized[path] = QuantizedWeight(
                torch.randint(-8, 8, (n, k), generator=gen, dtype=torch.int8),
                torch.rand(n, k // 32, generator=gen) * 0.02 + 0.005,
                4,
                32,
                offsets=(torch.rand(n, k // 32, generator=gen) - 0.5) * 0.1,
            )
    helper = network(model, "prefill", torch.float32, PROFILE, logits="all", quantized=quantized)
    ids = _ids(16, 2, 9)
    out = helper.reference({"input_ids": ids.int(), "pad": torch.zeros(2, dtype=torch.int32)})
    with torch.no_grad():
        want = fake_quantized(model, quantized)(ids)[0]
        no_offsets = fake_quantized(
            model, {p: QuantizedWeight(q.values, q.scales, 4, 32) for p, q in quantized.items()}
        )(ids)[0]
    assert rel_error(out["logits"], want) <= 1e-5
    assert rel_error(no_offsets, want) > 1e-2


def test_torch_model_keeps_to_the_input_device(peer_and_model):
    """Positions, padding and the mask are made on the input's device (the model ran on CPU only before: found on
    the GPU baseline); the meta device fails on any CPU tensor mixed in, like CUDA would."""
    import copy

    model = copy.deepcopy(peer_and_model[1]).to("meta")
    logits, k, _ = model(torch.zeros(2, 5, dtype=torch.int64, device="meta"))
    logits, k, _ = model(torch.zeros(2, 1, dtype=torch.int64, device="meta"), k, k)
    assert logits.device.type == "meta" and tuple(k.shape) == (2, 2, 2, 6, 24)


def test_smoothquant_w8a8_network(peer_and_model):
    """SmoothQuant over the llama groups (both RMSNorms, and up_proj → down_proj through SwiGLU's product): the
    smoothed float model = the original; the fp32 W8A8 prefill network = PyTorch with the same int8 weights and
    fake-quantized int8 inputs."""
    from models.llama.quant import run_prompts, smoothquant_groups
    from trt_helper.quant import fake_quantized
    from trt_helper.quant.smoothquant import smoothquant

    model = peer_and_model[1]
    run = run_prompts([_ids(17, 1, 12)[0].tolist(), _ids(18, 1, 5)[0].tolist()])
    smoothed, quantized = smoothquant(model, run, smoothquant_groups(model))
    ids = _ids(19, 2, 9)
    with torch.no_grad():
        assert rel_error(smoothed(ids)[0], model(ids)[0]) <= 1e-5
        want = fake_quantized(smoothed, quantized)(ids)[0]
    assert len(quantized) == 7 * 2 and all(q.act_scale for q in quantized.values())
    helper = network(smoothed, "prefill", torch.float32, PROFILE, logits="all", quantized=quantized)
    out = helper.reference({"input_ids": ids.int(), "pad": torch.zeros(2, dtype=torch.int32)})
    assert rel_error(out["logits"], want) <= 1e-5
