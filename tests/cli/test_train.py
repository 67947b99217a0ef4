"""`posegpt train`'s flags are made from TrainConfig's fields and reach the config."""

from __future__ import annotations

import dataclasses

from typer.testing import CliRunner

import posegpt.train.loop
from posegpt.cli import app
from posegpt.train.config import FLAGS, TrainConfig


def test_every_flag_is_a_train_config_field():
    assert set(FLAGS) <= {f.name for f in dataclasses.fields(TrainConfig)}


def test_flags_and_settings_reach_the_config(monkeypatch, tmp_path):
    seen = []

    def fake_train(config, resume, progress):
        seen.append((config, resume, progress))
        raise SystemExit(0)

    monkeypatch.setattr(posegpt.train.loop, "train", fake_train)
    args = ["train", "--no-tcmalloc", "-q", "--resume", "-o", str(tmp_path), "--steps", "7"]
    args += ["--batch-size", "3", "--lr", "0.01", "--bf16", "--set", "grad_accum=2"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    ((config, resume, progress),) = seen
    assert (config.out, config.steps, config.epochs) == (str(tmp_path), 7, None)
    assert (config.batch_size, config.lr, config.bf16, config.grad_accum) == (3, 0.01, True, 2)
    assert config.seed == TrainConfig().seed and resume and not progress


def test_a_person_chooser_needs_a_model_with_the_pose_tower(tmp_path):
    result = CliRunner().invoke(
        app, ["train-chooser", "small", "--data", str(tmp_path), "-o", str(tmp_path / "m")]
    )
    assert result.exit_code != 0
    assert "pose tower" in str(result.exception) + result.output
    assert not (tmp_path / "m").exists()
