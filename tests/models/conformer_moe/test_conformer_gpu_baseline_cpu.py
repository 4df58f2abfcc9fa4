"""benchmarks/conformer_gpu_baseline.py runs end to end (on CPU here; the lead runs it on the GPU)."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def test_baseline_script_writes_its_json(tmp_path):
    out = tmp_path / "baseline.json"
    done = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "benchmarks", "conformer_gpu_baseline.py"),
            "--device",
            "cpu",
            "--configs",
            "small",
            "--shapes",
            "1x40",
            "2x60",
            "--iters",
            "2",
            "--warmup",
            "1",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert {"device", "date", "command", "torch", "cases"} <= set(result)
    assert [(c["dtype"], c["shape"]) for c in result["cases"]] == [
        ("fp32", "1x40x80"),
        ("fp32", "2x60x80"),
        ("fp16", "1x40x80"),
        ("fp16", "2x60x80"),
    ]
    assert all(0 < c["min_ms"] <= c["median_ms"] <= c["max_ms"] for c in result["cases"])
    assert "conformer_gpu_baseline.py" in result["command"]
