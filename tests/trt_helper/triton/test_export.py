"""Model repositories: the plan sidecar, config.pbtxt for plans (batch as dim 0 or explicit, profiles, dynamic
batching, instance groups), the Whisper and conformer repositories; every config parses with tritonclient's
model-config protobuf, and its tensors are the plan's (independently: the built network's own I/O)."""

from __future__ import annotations

import json

import pytest
import torch

import trt_helper
from trt_helper import sidecar
from trt_helper.triton import export_conformer, export_plan, export_whisper, plan_config, to_pbtxt

TYPES = {"float32": "TYPE_FP32", "float16": "TYPE_FP16", "int32": "TYPE_INT32"}


@pytest.fixture(scope="module")
def batched_plan(tmp_path_factory):
    """x (B, 4) float32, lengths (B,) int32 -> y (B, 3), n (B,); two profiles: batch 1..4 (opt 2) and 1..16 (opt 8)."""
    helper = trt_helper.NetworkHelper(torch.float32, name="tiny")
    x = helper.addInput("x", torch.float32, (-1, 4), min_shape=(1, 4), opt_shape=(2, 4), max_shape=(4, 4))
    lengths = helper.addInput("lengths", torch.int32, (-1,), min_shape=(1,), opt_shape=(2,), max_shape=(4,))
    helper.addProfile({"x": ((1, 4), (8, 4), (16, 4)), "lengths": ((1,), (8,), (16,))})
    helper.markOutput(helper.addLinear(torch.nn.Linear(4, 3), x), "y")
    helper.markOutput(lengths, "n")
    path = tmp_path_factory.mktemp("plan") / "tiny.plan"
    helper.build(path)
    return path, helper


def test_sidecar_describes_the_network(batched_plan):
    path, helper = batched_plan
    info = sidecar.read(path)
    network = helper.network
    assert [(t["name"], t["shape"]) for t in info["inputs"]] == [
        (network.get_input(i).name, list(network.get_input(i).shape)) for i in range(network.num_inputs)
    ]
    assert [t["dtype"] for t in info["inputs"] + info["outputs"]] == ["float32", "int32", "float32", "int32"]
    assert info["profiles"][1]["x"] == {"min": [1, 4], "opt": [8, 4], "max": [16, 4]}
    assert info["network"] == "tiny" and info["plan_bytes"] == path.stat().st_size


def test_missing_sidecar_says_how_to_get_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="no sidecar for plan .*every build writes <plan>.json"):
        sidecar.read(tmp_path / "other.plan")


def test_batched_plan_config(batched_plan, parse_config, model_config_pb2, tmp_path):
    type_name = model_config_pb2.DataType.Name
    path, _ = batched_plan
    directory = export_plan(tmp_path, "tiny", path, instances=2, gpus=(0, 1))
    config = parse_config((directory / "config.pbtxt").read_text())
    assert config.platform == "tensorrt_plan" and config.max_batch_size == 16
    assert [(t.name, list(t.dims)) for t in config.input] == [("x", [4]), ("lengths", [1])]
    assert list(config.input[1].reshape.shape) == []  # (B,) is batch only
    assert [type_name(t.data_type) for t in [*config.input, *config.output]] == [
        "TYPE_FP32",
        "TYPE_INT32",
        "TYPE_FP32",
        "TYPE_INT32",
    ]
    assert list(config.dynamic_batching.preferred_batch_size) == [2, 8, 16]
    group = config.instance_group[0]
    assert (group.count, list(group.gpus), list(group.profile)) == (2, [0, 1], ["0", "1"])
    assert (directory / "1" / "model.plan").read_bytes() == path.read_bytes()


def test_max_batch_size_beyond_the_profiles_is_refused(batched_plan):
    path, _ = batched_plan
    with pytest.raises(ValueError, match="max_batch_size 32 is more than the plan accepts \\(16"):
        plan_config("tiny", sidecar.read(path), max_batch_size=32)


def test_whisper_repository(whisper_plans, parse_config, model_config_pb2, tmp_path):
    """Four tensorrt_plan models (K/V carry batch in dim 1: explicit batch) and the Python model over them."""
    export_whisper(tmp_path, whisper_plans, "fp32")
    configs = {d.name: parse_config((d / "config.pbtxt").read_text()) for d in tmp_path.iterdir()}
    assert sorted(configs) == [
        "whisper",
        "whisper_cross_kv",
        "whisper_decoder",
        "whisper_decoder_step",
        "whisper_encoder",
    ]
    assert configs["whisper_encoder"].max_batch_size == 8 and configs["whisper_decoder_step"].max_batch_size == 0
    for name in ("encoder", "cross_kv", "decoder", "decoder_step"):
        info = sidecar.read(whisper_plans / f"whisper_{name}_fp32.plan")
        config = configs[f"whisper_{name}"]
        batched = config.max_batch_size > 0
        expected = [(t["name"], TYPES[t["dtype"]], t["shape"][1:] if batched else t["shape"]) for t in info["inputs"]]
        assert [(t.name, model_config_pb2.DataType.Name(t.data_type), list(t.dims)) for t in config.input] == expected
        assert (tmp_path / f"whisper_{name}" / "1" / "model.plan").is_file()
    front = configs["whisper"]
    assert front.backend == "python" and front.max_batch_size == 8 and front.dynamic_batching.preferred_batch_size
    assert {t.name: t.optional for t in front.input} == {"AUDIO": True, "SAMPLES": True}


def test_conformer_repository(conformer_plan, parse_config, tmp_path):
    export_conformer(tmp_path, conformer_plan, "reference")
    plan = parse_config((tmp_path / "conformer_moe_plan" / "config.pbtxt").read_text())
    front = parse_config((tmp_path / "conformer_moe" / "config.pbtxt").read_text())
    assert plan.backend == "python" and plan.max_batch_size == 6  # the profile's max batch
    assert [(t.name, list(t.dims)) for t in plan.input] == [("feat", [-1, 80]), ("feat_len", [1])]
    assert front.input[0].allow_ragged_batch and front.max_batch_size == 6
    meta = json.loads((conformer_plan.parent / (conformer_plan.name + ".json")).read_text())
    assert meta["config"] == "small" and meta["inputs"][0]["name"] == "feat"  # both writers' keys kept


def test_pbtxt_quotes_and_enums(parse_config):
    from trt_helper.triton.config import Enum

    text = to_pbtxt(
        {
            "name": 'a "quoted" \\ name',
            "max_batch_size": 0,
            "instance_group": [{"kind": Enum("KIND_CPU")}],
            "input": [{"name": "x", "data_type": Enum("TYPE_FP32"), "dims": [-1]}],
            "output": [],
        }
    )
    config = parse_config(text)
    assert config.name == 'a "quoted" \\ name' and config.input[0].dims == [-1]


def test_command_line_export(batched_plan, parse_config, tmp_path, capsys):
    from trt_helper.triton.__main__ import main

    path, _ = batched_plan
    assert (
        main(
            [
                "export",
                "plan",
                str(path),
                str(tmp_path),
                "--name",
                "tiny",
                "--max-batch-size",
                "4",
                "--preferred",
                "2",
                "4",
                "--queue-delay-us",
                "500",
            ]
        )
        == 0
    )
    config = parse_config((tmp_path / "tiny" / "config.pbtxt").read_text())
    assert config.max_batch_size == 4 and list(config.dynamic_batching.preferred_batch_size) == [2, 4]
    assert config.dynamic_batching.max_queue_delay_microseconds == 500
    assert f"wrote {tmp_path / 'tiny'}/config.pbtxt" in capsys.readouterr().out
