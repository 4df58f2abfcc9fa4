"""T2 (CPU): the built libtrtplugin++.so — exports, creators, fields, rejection of bad fields, serialisation round
trip, clone, format and type queries — driven through IPluginV3 by the harness, and loaded into the TensorRT-RTX
plugin registry. Skipped (with the reason) when the library was not built."""

from __future__ import annotations

import subprocess

import pytest

from trt_helper import plugins

#: plugin name -> (valid fields, example inputs, example outputs) and its fields the creator must reject
PLUGINS = {name: module.EXAMPLE for name, module in plugins.PLUGINS.items()}
BAD_FIELDS = {name: module.BAD_FIELDS for name, module in plugins.PLUGINS.items()}

pytestmark = pytest.mark.headers


def test_library_exports_only_the_entry_points(library_path):
    out = subprocess.run(["nm", "-D", "--defined-only", str(library_path)], capture_output=True, text=True, check=True)
    exported = {line.split()[-1] for line in out.stdout.splitlines() if line.split()[1] in "TDBVW"}
    assert exported == {"getCreators", "setLoggerFinder"}


def test_library_links_no_tensorrt(library_path):
    out = subprocess.run(["readelf", "-d", str(library_path)], capture_output=True, text=True, check=True)
    needed = [line for line in out.stdout.splitlines() if "NEEDED" in line]
    assert needed and not any("nvinfer" in line or "tensorrt" in line for line in needed), needed


def test_creators_and_field_names(lib):
    creators = {c["name"]: c for c in lib.creators()}
    assert set(creators) == set(PLUGINS)
    for name, info in creators.items():
        assert info["version"] == "1" and info["namespace"] == "trt_helper"
        assert {field for field, _ in info["fields"]} >= set(PLUGINS[name][0]), name
        assert all(kind in ("int32", "float32") for _, kind in info["fields"])


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_bad_fields_are_rejected_with_a_reason(lib, harness, name):
    harness.take_log()
    for fields, reason in BAD_FIELDS[name]:
        assert lib.create(name, fields) is None, fields
        log = harness.take_log()
        assert any(severity == 1 and reason in message and name in message for severity, message in log), (fields, log)


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_serialize_round_trip_clone_and_queries(lib, name):
    fields, inputs, outputs = PLUGINS[name]
    plugin = lib.create(name, fields, "build", f"{name}_layer")
    assert plugin is not None
    assert (plugin.name, plugin.version, plugin.namespace) == (name, "1", "trt_helper")
    assert plugin.interface_kinds() == ["PLUGIN", "PLUGIN_V3ONE_CORE", "PLUGIN_V3ONE_BUILD", "PLUGIN_V3ONE_RUNTIME"]
    assert plugin.nb_outputs == len(outputs)
    serialized = plugin.fields_to_serialize()
    for key, value in fields.items():
        assert serialized[key][1] == [pytest.approx(value)]
    # deserialisation path: what getFieldsToSerialize wrote, fed back through createPlugin(RUNTIME)
    again = lib.create(name, {k: (t, v) for k, (t, v) in serialized.items()}, "runtime", f"{name}_layer")
    assert again is not None and again.fields_to_serialize() == serialized
    clone = plugin.clone()
    assert clone.fields_to_serialize() == serialized and clone.name == name
    del plugin  # the clone must not depend on the original
    in_types = [t for _, t in inputs]
    out_types = [t for _, t in outputs]
    status, types = clone.output_data_types(in_types)
    assert status == 0 and types == out_types
    assert clone.configure(inputs, outputs) == 0
    assert clone.on_shape_change(inputs, outputs) == 0
    assert clone.workspace_size(inputs, outputs) >= 0
    everything = in_types + out_types
    for pos in range(len(everything)):
        assert clone.supports_format_combination(pos, everything, len(inputs)), (pos, everything)
        assert not clone.supports_format_combination(pos, everything, len(inputs), ["chw32"] * len(everything))


@pytest.mark.parametrize("name", sorted(PLUGINS))
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_formats_follow_the_data_type(lib, name, dtype):
    """Input 0 picks the floating type; every other floating tensor must match it, int tensors must be int32."""
    fields, inputs, outputs = PLUGINS[name]
    plugin = lib.create(name, fields)
    types = [dtype if t == "float16" else t for _, t in inputs + outputs]
    if dtype not in getattr(plugins.PLUGINS[name], "FLOAT_TYPES", (dtype,)):
        assert not plugin.supports_format_combination(0, types, len(inputs))
        return
    for pos in range(len(types)):
        assert plugin.supports_format_combination(pos, types, len(inputs)), (pos, types)
        if pos == 0 and types[pos] != "int32":
            continue  # any floating type is fine for input 0
        wrong = list(types)
        wrong[pos] = "int64" if types[pos] == "int32" else "float16"
        assert not plugin.supports_format_combination(pos, wrong, len(inputs)), (pos, wrong)


def test_shape_errors_are_reported_at_configure(lib, harness):
    harness.take_log()
    rel = lib.create("RelPositionalEncoding", {"scale": 4.0})
    assert (
        rel.configure(
            [((2, 50, 16), "float16"), ((1, 40, 16), "float16")], [((2, 50, 16), "float16"), ((1, 50, 16), "float16")]
        )
        != 0
    )
    assert any("max_len" in m for _, m in harness.take_log())
    ln = lib.create("LayerNorm", {"eps": 1e-5})
    assert ln.configure([((4, 32), "float32"), ((16,), "float32"), ((32,), "float32")], [((4, 32), "float32")]) != 0
    moe = lib.create("FMoEExpert", {"num_experts": 4, "hidden": 8, "act": 0, "has_lengths": 1})
    assert (
        moe.configure(
            [
                ((2, 3, 16), "float16"),
                ((2, 3), "int32"),
                ((2,), "int32"),
                ((5, 8, 16), "float16"),
                ((5, 8), "float16"),
                ((5, 16, 8), "float16"),
                ((5, 16), "float16"),
            ],
            [((2, 3, 16), "float16")],
        )
        != 0
    )
    assert any("w1" in m for _, m in harness.take_log())


def test_fmoe_rejects_unaligned_16bit_sizes(lib, harness):
    """The 16-bit tensor-core GEMMs need D and hidden to be multiples of 8: configure says so; fp32 takes any size."""
    harness.take_log()
    moe = lib.create("FMoEExpert", {"num_experts": 4, "hidden": 8, "act": 0})
    odd = [
        ((2, 3, 12), "float16"),
        ((2, 3), "int32"),
        ((4, 8, 12), "float16"),
        ((4, 8), "float16"),
        ((4, 12, 8), "float16"),
        ((4, 12), "float16"),
    ]
    assert moe.configure(odd, [((2, 3, 12), "float16")]) != 0
    assert any("multiples of 8" in m and "D = 12" in m for _, m in harness.take_log())
    fp32 = [(dims, "int32" if t == "int32" else "float32") for dims, t in odd]
    assert moe.configure(fp32, [((2, 3, 12), "float32")]) == 0


def test_registry_loads_library_and_creates_every_plugin(library_path):
    from trt_helper.backend import BackendUnavailable, get_backend

    try:
        trt = get_backend().trt
    except BackendUnavailable as error:
        pytest.skip(f"no TensorRT backend: {error}")
    # loaded once per process and never deregistered: plugin objects must not outlive their library's code
    assert plugins.plugin_library_available()
    registry = trt.get_plugin_registry()
    for name, (fields, _, _) in PLUGINS.items():
        creator = registry.get_creator(name, "1", "trt_helper")
        assert creator is not None, name
        assert {f.name for f in creator.field_names} >= set(fields)
        plugin = creator.create_plugin(f"{name}_layer", plugins.plugin_fields(trt, fields), trt.TensorRTPhase.BUILD)
        assert plugin is not None, name
        assert plugin.interface_info.kind == "PLUGIN"
        if fields:
            bad = {k: (float(v) + 0.5 if isinstance(v, int) else 1) for k, v in fields.items()}
            assert creator.create_plugin("bad", plugins.plugin_fields(trt, bad), trt.TensorRTPhase.BUILD) is None
        created = plugins.create_plugin(name, fields, f"{name}_via_helper")
        assert created.interface_info.kind == "PLUGIN"


def test_plugin_fields_helper_types():
    trt = pytest.importorskip("tensorrt_rtx")  # any TensorRT module with PluginField works here
    fc = plugins.plugin_fields(trt, {"a": 3, "b": 0.5})
    assert len(fc) == 2
    assert fc[0].type == trt.PluginFieldType.INT32 and fc[1].type == trt.PluginFieldType.FLOAT32
    with pytest.raises(TypeError):
        plugins.plugin_fields(trt, {"a": "x"})
