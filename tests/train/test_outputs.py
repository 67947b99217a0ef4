"""Metrics log, loss plot, checkpoint folders and the tcmalloc re-exec."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from posegpt.train.checkpoint import checkpoint_dir, list_checkpoints
from posegpt.train.metrics import MetricsLog, plot_losses
from posegpt.train.tcmalloc import find_tcmalloc


def test_metrics_log_survives_a_cut_line(tmp_path):
    log = MetricsLog(tmp_path / "metrics.jsonl")
    for step in (5, 10, 15):
        log.append({"step": step, "loss": 1.0 / step})
    with log.path.open("a") as f:
        f.write('{"step": 20, "lo')  # killed while writing
    assert [r["step"] for r in log.read()] == [5, 10, 15]
    log.keep_until(10)
    assert [r["step"] for r in log.read()] == [5, 10]


def test_loss_plot_draws_both_curves(tmp_path):
    records = [{"step": s, "loss": 5.0 / s} for s in range(1, 40)]
    records += [{"step": s, "val_loss": 6.0 / s} for s in (10, 20, 30)]
    plot_losses(records, tmp_path / "loss.png")
    pixels = np.asarray(Image.open(tmp_path / "loss.png").convert("RGB")).reshape(-1, 3)
    colours = {tuple(p) for p in pixels}
    assert (31, 119, 180) in colours and (214, 39, 40) in colours
    plot_losses([], tmp_path / "empty.png")  # no data yet: axes only
    assert (tmp_path / "empty.png").exists()


def test_checkpoints_listed_by_step(tmp_path):
    for step in (100, 20, 3):
        checkpoint_dir(tmp_path, step).mkdir(parents=True)
    (tmp_path / "checkpoints/.step-00000200.tmp").mkdir()
    (tmp_path / "checkpoints/notes").mkdir()
    assert [p.name for p in list_checkpoints(tmp_path)] == [
        "step-00000003",
        "step-00000020",
        "step-00000100",
    ]


@pytest.mark.skipif(find_tcmalloc() is None, reason="libtcmalloc-minimal4 is not installed")
def test_reexec_preloads_tcmalloc_once():
    code = (
        "import os; from posegpt.train.tcmalloc import use_tcmalloc; "
        "print('run', os.environ.get('LD_PRELOAD')); use_tcmalloc()"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("POSEGPT_TCMALLOC", "LD_PRELOAD")}
    runs = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    lines = runs.stdout.splitlines()
    assert lines == ["run None", f"run {find_tcmalloc()}"], runs.stderr
    opted_out = subprocess.run(
        [sys.executable, "-c", code], env={**env, "POSEGPT_TCMALLOC": "0"}, capture_output=True
    )
    assert opted_out.stdout.decode().splitlines() == ["run None"]
