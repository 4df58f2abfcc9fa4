"""Weight-stripped plans: the weights-name map (state-dict keys), refitting inputs checked on CPU, and the builder's
refusal where TensorRT-RTX has no CUDA driver."""

import pytest
import torch

import trt_helper
from models.conformer_moe.build import load_model, make_helper
from models.conformer_moe.weights import save_state_dict
from trt_helper import refit, sidecar
from trt_helper.builder import BuildReport


def _stripped_sidecar(helper, plan):
    """What a stripped build records next to ``plan`` (the build itself needs a GPU on TensorRT-RTX)."""
    sidecar.update(plan, sidecar.describe(helper, BuildReport(str(plan), helper.network.num_layers, 0.0, 0)))
    refit.record(helper.refit_map, plan, stripped=True)


@pytest.fixture(scope="module", params=[torch.float32, torch.float16], ids=["fp32", "fp16"])
def conformer(request, tmp_path_factory):
    """A small conformer-MoE network at fp32/fp16 with its stripped-plan sidecar, and a checkpoint of other weights."""
    precision = "fp32" if request.param == torch.float32 else "fp16"
    with torch.no_grad():
        helper = make_helper(load_model("small"), precision)
    plan = tmp_path_factory.mktemp(precision) / "small.plan"
    _stripped_sidecar(helper, plan)
    other = load_model("small", seed=1)
    checkpoint = plan.parent / "other.pt"
    save_state_dict(other, checkpoint)  # 3m-asr names: "encoder."-prefixed keys
    return helper, plan, other, checkpoint


def test_every_weight_is_named_and_mapped(conformer):
    """Every constant the network reads is in the map; model weights by their state-dict key, the rest stored."""
    helper, plan, other, checkpoint = conformer
    trt = helper.trt
    named = {source.data_ptr for source in helper.refit_map.values()}
    constants = 0
    for i in range(helper.network.num_layers):
        layer = helper.network.get_layer(i)
        if layer.type == trt.LayerType.CONSTANT:
            layer.__class__ = trt.IConstantLayer
            constants += 1
            assert layer.weights.ctypes.data in named, f"constant layer {layer.name} has no weights name"
    keys = {source.key for source in helper.refit_map.values() if source.key}
    state = other.state_dict()
    assert constants > 100 and keys <= set(state)
    unused = {k.rsplit(".", 1)[0] for k in set(state) - keys}  # modules the encoder's forward never calls
    assert unused <= {f"{p}.concat_linear" for p in ("embed.blocks.0", "embed.blocks.1", "blocks.0", "blocks.1")} | {
        "embed.out_linear"
    }, unused
    weights = refit.weights_for(plan, checkpoint)
    assert set(weights) == set(helper.refit_map)
    for name, source in helper.refit_map.items():
        want = state[source.key].to(source.dtype).reshape(source.view) if source.key else source.value.to(source.dtype)
        assert weights[name].dtype == source.dtype and torch.equal(weights[name], want), name
    expert = next(n for n, s in helper.refit_map.items() if s.key and "experts" in s.key)
    assert helper.refit_map[expert].key == expert  # the weights name is the state-dict key


def test_module_and_state_dict_sources(conformer):
    helper, plan, other, _ = conformer
    from_module = refit.weights_for(plan, other)
    from_state = refit.weights_for(plan, {"model": other.state_dict()})
    assert all(torch.equal(from_module[n], from_state[n]) for n in from_module)


def test_missing_and_misshaped_weights_name_the_module(conformer):
    helper, plan, other, _ = conformer
    key = next(s.key for s in helper.refit_map.values() if s.key and s.key.endswith("w_1.weight"))
    module = key.rsplit(".", 1)[0]
    state = dict(other.state_dict())
    del state[key]
    with pytest.raises(ValueError, match=rf"lacks '{key}' \(module '{module}', parameter 'weight'\)"):
        refit.weights_for(plan, state)
    state[key] = torch.zeros(3, 5)
    with pytest.raises(
        ValueError,
        match=rf"'{key}' \(module '{module}', parameter 'weight'\) has shape \(3, 5\), "
        rf"the plan was built with \({other.state_dict()[key].shape[0]}, ",
    ):
        refit.weights_for(plan, state)


def test_engine_checks_refit_before_the_gpu(conformer, tmp_path):
    helper, plan, other, _ = conformer
    with pytest.raises(ValueError, match="weight-stripped; pass refit_from="):
        trt_helper.Engine(plan)
    with pytest.raises(ValueError, match="lacks"):
        trt_helper.Engine(plan, refit_from={})
    full = tmp_path / "full.plan"
    _stripped_sidecar(helper, full)
    refit.record(helper.refit_map, full, stripped=False)  # a full rebuild drops the stripped build's records
    assert not refit.constants_path(full).exists()
    with pytest.raises(ValueError, match="not a weight-stripped plan"):
        trt_helper.Engine(full, refit_from=other)


def test_shared_parameter_is_one_weight():
    """A parameter read twice (tied embedding/head) in the same dtype is one named weight and one host copy."""
    table = torch.nn.Embedding(16, 8)
    model = torch.nn.ModuleDict({"emb": table})
    helper = trt_helper.NetworkHelper(torch.float16, name="tied")
    helper.setModel(model)
    a = helper.addConstant(table.weight, name="first")
    b = helper.addConstant(table.weight, name="second")
    helper.markOutput(helper.addAdd(a, b), "y")
    assert list(helper.refit_map) == ["emb.weight"]
    assert helper.weight_bytes == 16 * 8 * 2


def test_stripped_build_without_cuda_driver_leaves_nothing(tmp_path):
    helper = trt_helper.NetworkHelper(torch.float32, name="ffn")
    x = helper.addInput("x", torch.float32, (4, 8))
    helper.markOutput(helper(torch.nn.Linear(8, 4), x), "y")
    if not helper.backend.has_aot_targets or torch.cuda.is_available():
        pytest.skip("TensorRT-RTX without a CUDA driver only")
    with pytest.raises(RuntimeError, match="weight-stripped, refittable plans only where a CUDA driver is present"):
        helper.build(tmp_path / "ffn.plan", strip_weights=True)
    assert not any(tmp_path.iterdir())


@pytest.mark.gpu
def test_stripped_plan_refits_to_the_full_plans_output(tmp_path):
    """Where the backend can build and run plans: a weight-stripped plan is ≤ 5 % of the full one, and refitted from
    the module it gives the full plan's output."""
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU the backend supports")
    model = torch.nn.Sequential(torch.nn.Linear(512, 2048), torch.nn.GELU(), torch.nn.Linear(2048, 512)).eval()

    def build(path, strip):
        helper = trt_helper.NetworkHelper(torch.float32, name="mlp")
        x = helper.addInput("x", torch.float32, (4, 512))
        helper.markOutput(helper(model, x), "y")
        return helper.build(path, strip_weights=strip)

    full, stripped = build(tmp_path / "full.plan", False), build(tmp_path / "stripped.plan", True)
    assert stripped.plan_bytes <= 0.05 * full.plan_bytes, (stripped.plan_bytes, full.plan_bytes)
    x = torch.randn(4, 512, device="cuda")
    want = trt_helper.Engine(tmp_path / "full.plan")(x=x)["y"]
    got = trt_helper.Engine(tmp_path / "stripped.plan", refit_from=model)(x=x)["y"]
    assert trt_helper.rel_error(got, want) <= 1e-6
    with torch.no_grad():
        assert trt_helper.rel_error(want.cpu(), model(x.cpu())) <= 1e-3  # tf32 tolerance
