"""build.py / infer.py / build.sh end to end on the small config (AOT build on CPU, reference runner)."""

import json
import os
import subprocess

import pytest
import torch

from models.conformer_moe import build, infer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def test_build_then_infer_with_the_reference_runner(tmp_path, capsys):
    assert build.main(["--config", "small", "--precision", "fp16", "--outdir", str(tmp_path)]) == 0
    line = capsys.readouterr().out.strip()
    plan = tmp_path / "conformer_moe.small.fp16.plan"
    assert line.startswith(f"conformer_moe small fp16: {plan}: ") and " layers, built in " in line
    assert plan.stat().st_size > 1e6
    meta = json.loads((tmp_path / "conformer_moe.small.fp16.plan.json").read_text())
    settings = (meta["config"], meta["precision"], meta["seed"], meta["profile"])
    assert settings == ("small", "fp16", 0, "1x7:1x206:6x6100")

    out = tmp_path / "out.npz"
    assert (
        infer.main(
            [
                str(plan),
                "--batch",
                "2",
                "--frames",
                "100",
                "--lengths",
                "100",
                "61",
                "--runner",
                "reference",
                "--check",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "ran: reference executor" in text
    worst = float(text.split("over valid frames ")[-1].split()[0])
    assert worst <= 2e-2  # fp16 network vs fp32 PyTorch
    import numpy as np

    saved = np.load(out)
    assert saved["out_len"].tolist() == [24, 14] and saved["logits"].shape == (2, 24, 32)


def test_infer_without_sidecar_says_how_to_build(tmp_path):
    with pytest.raises(SystemExit, match="python -m models.conformer_moe.build"):
        infer.main([str(tmp_path / "missing.plan")])


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU fallback message")
def test_engine_runner_refuses_clearly_without_a_gpu(tmp_path):
    build.main(["--config", "small", "--precision", "fp32", "--outdir", str(tmp_path)])
    with pytest.raises(SystemExit, match="no TensorRT engine can run here: no CUDA GPU visible"):
        infer.main([str(tmp_path / "conformer_moe.small.fp32.plan"), "--runner", "engine"])


def test_shell_wrappers(tmp_path):
    done = subprocess.run(
        ["sh", os.path.join(ROOT, "build.sh"), "--config", "small", "--precision", "fp32", "--outdir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "conformer_moe small fp32:" in done.stdout
    done = subprocess.run(
        [
            "sh",
            os.path.join(ROOT, "infer.sh"),
            "conformer_moe",
            str(tmp_path / "conformer_moe.small.fp32.plan"),
            "--frames",
            "40",
            "--check",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "ran: " in done.stdout and "out_len [9]" in done.stdout
    done = subprocess.run(["sh", os.path.join(ROOT, "infer.sh"), "nonsense"], capture_output=True, text=True)
    assert done.returncode == 2 and "usage: sh infer.sh conformer_moe|whisper" in done.stderr
