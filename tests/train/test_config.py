from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from posegpt.cli import app
from posegpt.errors import InvalidInputError
from posegpt.train.config import TrainConfig, load_config, parse_override, save_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.mark.parametrize(
    "name", sorted(p.stem for p in CONFIGS.glob("*.yaml") if p.stem != "accelerate_multi_gpu")
)
def test_shipped_configs_load(name):
    config = load_config(CONFIGS / f"{name}.yaml")
    assert config.model_config().preset == config.preset


def test_paper_recipe():
    config = load_config(CONFIGS / "llava-1.5-lora.yaml")
    model = config.model_config()
    assert (model.mode, model.lora_r, model.lora_alpha, model.freeze_vision) == (
        "lora",
        128,
        256,
        True,
    )
    assert (config.learning_rate, config.batch_size, config.grad_accum) == (2e-4, 16, 2)
    assert (config.weight_decay, config.ce_weight, config.pose_weight) == (0.0, 1.0, 0.1)
    assert config.mix == {"image2pose": 2.0, "text2pose": 1.0, "instruction": 1.0}


def test_lr_defaults_by_preset():
    assert load_config(None, {"preset": "small"}).learning_rate == 1e-3
    assert load_config(None, {"preset": "medium"}).learning_rate == 3e-4
    assert load_config(None, {"preset": "medium", "lr": 1e-4}).learning_rate == 1e-4


def test_unknown_key_is_named(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("preset: tiny\nlearning_rat: 0.1\n")
    with pytest.raises(InvalidInputError, match="learning_rat"):
        load_config(path)
    with pytest.raises(InvalidInputError, match="hidden_sise"):
        load_config(None, {"model.hidden_sise": 8})
    with pytest.raises(InvalidInputError, match="imag2pose"):
        load_config(None, {"mix.imag2pose": 1})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"batch_size": "8"}, "batch_size"),
        ({"bf16": 1}, "bf16"),
        ({"steps": 10, "epochs": 1}, "exactly one"),
        ({"lr": -1.0}, "lr"),
        ({"schedule": "cosine_restarts"}, "schedule"),
        ({"preset": "huge"}, "preset"),
        ({"model": {"ce_weight": 2.0}}, "top level"),
        ({"max_seq_len": 100_000}, "max_seq_len"),
    ],
)
def test_bad_values_are_named(overrides, message):
    with pytest.raises(InvalidInputError, match=message):
        load_config(None, overrides)


def test_overrides_and_round_trip(tmp_path):
    config = load_config(
        CONFIGS / "tiny.yaml",
        dict(map(parse_override, ["lr=5e-4", "bf16=true", "model.hidden_size=32", "steps=7"])),
    )
    assert (config.lr, config.bf16, config.model["hidden_size"], config.steps) == (
        5e-4,
        True,
        32,
        7,
    )
    assert config.model_config().hidden_size == 32
    save_config(config, tmp_path / "config.yaml")
    assert load_config(tmp_path / "config.yaml") == config
    assert config.changes_from(TrainConfig(**{**config.to_dict(), "out": "elsewhere"})) == []
    assert config.changes_from(TrainConfig(**{**config.to_dict(), "lr": 1e-3})) == ["lr"]
    with pytest.raises(InvalidInputError, match="key=value"):
        parse_override("lr")


def test_epochs_give_steps():
    config = load_config(None, {"steps": None, "epochs": 2.5, "grad_accum": 2})
    assert config.total_steps(batches_per_epoch=10, processes=1) == 13
    assert config.total_steps(batches_per_epoch=10, processes=4) == 4


def test_loss_weighs_the_models_two_losses_in_one_place():
    config = load_config(None, {"ce_weight": 2.0, "pose_weight": 0.5})
    assert config.loss(1.5, 4.0) == 5.0
    assert config.loss(1.5, 4.0, unlikelihood=3.0) == 5.0  # off by default
    config = load_config(None, {"unlikelihood_weight": 0.5})
    assert config.loss(1.0, 0.0, unlikelihood=3.0) == 2.5
    with pytest.raises(InvalidInputError, match="unlikelihood_weight"):
        load_config(None, {"unlikelihood_weight": -1.0})
    assert config.loss(1.0, 0.0, keep=3.0) == 4.0  # the keep gates' loss at weight 1
    assert load_config(None, {"keep_weight": 0.0}).loss(1.0, 0.0, keep=3.0) == 1.0
    with pytest.raises(InvalidInputError, match="keep_weight"):
        load_config(None, {"keep_weight": -1.0})
    assert "pose_weight" not in config.model_config().to_dict()  # a training setting only


def test_cli_reports_bad_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("stepz: 3\n")
    result = CliRunner().invoke(app, ["train", "--config", str(path), "--no-tcmalloc"])
    assert isinstance(result.exception, InvalidInputError)
    assert "stepz" in str(result.exception)


def test_task_mix_weights_tasks_within_a_group(tmp_path):
    from posegpt.data.sampler import DEFAULT_GROUPS, DEFAULT_SUB_WEIGHTS, task_weights

    assert load_config().task_mix == DEFAULT_SUB_WEIGHTS
    config = load_config(None, {"task_mix.text2pose.speculative": 3})
    assert config.task_mix["text2pose"] == {"text2pose": 3.0, "speculative": 3.0}
    assert config.task_mix["image2pose"] == DEFAULT_SUB_WEIGHTS["image2pose"]
    assert load_config(None, {"mix.pose_input": 2}).mix == {**DEFAULT_GROUPS, "pose_input": 2}
    sizes = {"image2pose": 10, "rpe": 10, "text2pose": 10, "speculative": 10, "instruction": 10}
    shares = task_weights(sizes, config.mix, config.task_mix)
    assert shares["speculative"] == pytest.approx(shares["text2pose"]) == pytest.approx(1 / 8)
    path = tmp_path / "run.yaml"
    save_config(config, path)
    assert load_config(path).task_mix == config.task_mix
    # pose -> text (text pairs read the other way) is off unless weighted in
    sizes |= {"pose_input": 10, "pose2text": 10}
    assert "pose2text" not in task_weights(sizes, config.mix, config.task_mix)
    reading = load_config(None, {"task_mix.pose_input.pose2text": 1, "mix.pose_input": 2})
    shares = task_weights(sizes, reading.mix, reading.task_mix)
    assert shares["pose2text"] == shares["pose_input"] == pytest.approx(1 / 6)
    for overrides, message in [
        ({"task_mix.text2pose.speculativ": 1}, "speculativ"),
        ({"task_mix.text2pose.speculative": -1}, ">= 0"),
        ({"task_mix.vision.rpe": 1}, "task_mix.vision"),
        ({"task_mix.text2pose": 1}, "GROUP.TASK"),
    ]:
        with pytest.raises(InvalidInputError, match=message):
            load_config(None, overrides)


def test_word_dropout_needs_a_rate_below_one_and_a_text_encoder():
    minilm = {"model.text_encoder": "minilm"}
    assert load_config(None, {**minilm, "word_dropout": 0.3}).word_dropout == 0.3
    with pytest.raises(InvalidInputError, match="text encoder"):
        load_config(None, {"word_dropout": 0.3})
    with pytest.raises(InvalidInputError, match="word_dropout"):
        load_config(None, {**minilm, "word_dropout": 1.0})
