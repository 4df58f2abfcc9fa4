"""The README's quick start runs as written and its check passes."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_quick_start_runs(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README.md has no python block"
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    assert (tmp_path / "plans" / "ffn.plan").stat().st_size > 0
    printed = capsys.readouterr().out
    assert "ok  ys" in printed, printed  # compare() marks rows within tolerance "ok"


def test_commands_are_the_ci_commands():
    """.ci/run runs the README's test command (kept in step by this test)."""
    text = README.read_text()
    command = re.search(r"Run the tests:\n\n```sh\n(.*?)\n```", text).group(1)
    ci = (README.parent / ".ci" / "run").read_text()
    assert command.replace("python ", "python3 ") in ci or command in ci


def test_the_op_example_registers_a_working_op():
    """The "Adding an op" block: its op becomes a helper method whose network matches torch (fp32, ≤ 1e-6)."""
    import torch

    import trt_helper

    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    example = next(block for block in blocks if "@op" in block)
    namespace = {}
    exec(compile(example, "README.md", "exec"), namespace)
    helper = trt_helper.NetworkHelper(torch.float32, name="swish")
    x = helper.addInput("x", torch.float32, (3, 5))
    helper.markOutput(helper.addSwishBeta(x, 1.5, name="act"), "y")
    assert helper.network.get_layer(helper.network.num_layers - 1).name.startswith("swish.act.")
    values = torch.randn(3, 5)
    want = values * torch.sigmoid(1.5 * values)
    assert trt_helper.rel_error(helper.reference({"x": values})["y"], want) <= 1e-6


def leaf_table():
    """The README's table of torch.nn classes ``helper(module)`` dispatches, one row per defining file."""
    from trt_helper.core.registry import LEAF_MODULES

    rows: dict[str, list[str]] = {}
    for cls, add in LEAF_MODULES.items():
        path = add.__module__.replace(".", "/") + ".py"
        rows.setdefault(path, []).append(cls.__name__)
    lines = ["| file | torch.nn classes |", "| --- | --- |"]
    lines += [f"| `{path}` | {', '.join(sorted(names))} |" for path, names in sorted(rows.items())]
    return "\n".join(lines)


def test_module_table_is_the_dispatch_table():
    """The README lists exactly the torch.nn classes helper(module) dispatches (regenerate with leaf_table())."""
    from trt_helper.core.registry import LEAF_MODULES

    text = README.read_text()
    table = re.search(r"<!-- leaf-modules -->\n(.*?)\n<!-- /leaf-modules -->", text, flags=re.S)
    assert table, "README.md has no <!-- leaf-modules --> table"
    assert table.group(1) == leaf_table(), f"README's module table is stale; it should read:\n{leaf_table()}"
    count = re.search(r"(\d+) torch\.nn classes", text)
    assert count and int(count.group(1)) == len(LEAF_MODULES)
