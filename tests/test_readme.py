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
