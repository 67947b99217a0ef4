"""An interrupted run resumed from its last checkpoint ends exactly like an uninterrupted one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

from posegpt.errors import ModelFileError
from posegpt.train.checkpoint import list_checkpoints
from posegpt.train.config import load_config
from posegpt.train.loop import train

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


class Crash(Exception):
    pass


def crash_at(step: int):
    def on_step(done: int) -> None:
        if done == step:
            raise Crash

    return on_step


def max_difference(run_a: Path, run_b: Path) -> float:
    a = load_file(run_a / "final/model.safetensors")
    b = load_file(run_b / "final/model.safetensors")
    assert a.keys() == b.keys()
    return max((a[k] - b[k]).abs().max().item() for k in a)


def losses(run: Path) -> list[tuple[int, float]]:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [(r["step"], r.get("loss", r.get("val_loss"))) for r in map(json.loads, lines)]


@pytest.mark.parametrize("model", [{}, {"mode": "lora", "lora_r": 4}], ids=["scratch", "lora"])
def test_resume_after_crash_is_exact(tmp_path, data, make_config, model):
    settings = {
        "steps": 12,
        "checkpoint_every": 4,
        "eval_every": 4,
        "log_every": 2,
        "grad_accum": 2,
        "model": model,
    }
    whole = train(make_config(tmp_path / "whole", **settings), data, data, progress=False)
    config = make_config(tmp_path / "cut", **settings)
    with pytest.raises(Crash):
        train(config, data, data, progress=False, on_step=crash_at(7))
    out = Path(config.out)
    assert [p.name for p in list_checkpoints(out)] == ["step-00000004"]
    resumed = train(config, data, data, resume=True, progress=False)
    assert max_difference(whole.out, out) == 0.0
    assert losses(whole.out) == losses(out)  # records after the checkpoint were redone
    assert resumed.steps == 12


def test_resume_ignores_a_checkpoint_cut_short(tmp_path, data, make_config):
    config = make_config(tmp_path / "run", steps=4, checkpoint_every=2)
    train(config, data, progress=False)
    partial = tmp_path / "run/checkpoints/.step-00000006.tmp"
    partial.mkdir()
    assert list_checkpoints(tmp_path / "run")[-1].name == "step-00000004"


@pytest.mark.slow
def test_resume_after_kill_9(tmp_path, dataset_dir):
    """A `posegpt train` process killed with SIGKILL after its first checkpoint, then resumed,
    ends with the weights of an uninterrupted run."""
    flags = {"data": str(dataset_dir), "steps": 40, "checkpoint_every": 10, "eval_every": 0}
    config = load_config(CONFIGS / "tiny.yaml", {**flags, "out": str(tmp_path / "whole")})
    whole = train(config, progress=False)
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "posegpt.train", "--config", str(CONFIGS / "tiny.yaml")]
    command += ["--data", str(dataset_dir), "--out", str(out), "--steps", "40", "-q"]
    command += ["--set", "checkpoint_every=10", "--set", "eval_every=0"]
    env = {**os.environ, "POSEGPT_TCMALLOC": "0", "OMP_NUM_THREADS": "1"}  # as this process
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not list_checkpoints(out) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert list_checkpoints(out), process.stderr.read().decode()[-2000:]
    assert process.returncode == -signal.SIGKILL
    assert not (out / "final").exists()  # killed mid-run
    config = load_config(CONFIGS / "tiny.yaml", {**flags, "out": str(out)})
    resumed = train(config, resume=True, progress=False)
    assert resumed.steps == whole.steps == 40
    assert max_difference(whole.out, out) <= 1e-6


@pytest.mark.parametrize("damaged", ["state/model.safetensors", "state/optimizer.bin"])
def test_resume_passes_over_a_truncated_newest_checkpoint(
    tmp_path, data, make_config, capsys, damaged
):
    """A newest checkpoint cut short (disk full, copy interrupted) is reported and skipped: the
    run resumes from the newest intact one and finishes."""
    config = make_config(tmp_path / "run", steps=4, checkpoint_every=2)
    train(config, data, progress=False)
    newest = tmp_path / "run/checkpoints/step-00000004"
    file = newest / damaged
    file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])
    capsys.readouterr()
    result = train(config, data, resume=True, progress=False)
    err = capsys.readouterr().err
    assert f"skipping a damaged checkpoint: {file}" in err
    assert "resuming from step-00000002" in err
    assert result.steps == 4


def test_resume_with_every_checkpoint_damaged_says_so(tmp_path, data, make_config):
    config = make_config(tmp_path / "run", steps=4, checkpoint_every=2)
    train(config, data, progress=False)
    for weights in (tmp_path / "run/checkpoints").glob("step-*/state/model.safetensors"):
        weights.write_bytes(b"\0" * 16)
    with pytest.raises(ModelFileError, match="no intact checkpoint"):
        train(config, data, resume=True, progress=False)
