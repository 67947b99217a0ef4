"""Refitting the pose head on cached `<POSE>` hidden states (`posegpt refit-head`)."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from typer.testing import CliRunner

from posegpt.body.rotations import geodesic_distance
from posegpt.cli import app
from posegpt.errors import InvalidInputError
from posegpt.model import load_pretrained
from posegpt.model.build import grow
from posegpt.model.pose_head import keep_loss
from posegpt.model.tokenizer import POSE_INPUT_TOKEN
from posegpt.records import Conversation, Message
from posegpt.train.data import ConversationList, EncodedDataset
from posegpt.train.loop import train
from posegpt.train.refit import cache_pose_states, refit_pose_head


@pytest.fixture(scope="module")
def short_run(tmp_path_factory, make_data, make_config):
    """A tiny model trained for 3 steps: its pose head has far to go."""
    root = tmp_path_factory.mktemp("refit")
    return train(make_config(root / "out", steps=3), make_data(root / "images"), progress=False)


def test_cached_states_are_what_the_pose_head_reads(short_run, data):
    model = load_pretrained(short_run.final_dir)
    cached = cache_pose_states(model, data, count=len(data))
    assert cached.hidden.shape == (12, model.config.hidden_size)
    assert cached.changed.shape == cached.targets.shape == (12, 24, 3, 3)
    assert cached.pictured.tolist() == [c.image is not None for c in data.items for _ in c.poses]
    dataset = EncodedDataset(data, model.tokenizer, model.config, model.config.max_length)
    batch = model.collate_fn([dataset[(0, i)] for i in range(len(data))])
    with torch.no_grad():
        answers = model.pose_head(cached.hidden, cached.changed)
        torch.testing.assert_close(answers, model(batch).pred_rotmat)


def test_refit_lowers_the_validation_error_and_keeps_the_best_epoch(short_run, data):
    model = load_pretrained(short_run.final_dir)
    untouched = {k: v.clone() for k, v in model.state_dict().items() if "pose_head" not in k}
    result = refit_pose_head(model, data, data, samples=64, val_samples=64, epochs=30, lr=3e-3)
    assert result.train_poses == result.val_poses == 12
    assert result.val_deg_after < 0.8 * result.val_deg_before and result.best_epoch > 0
    cached = cache_pose_states(model, data, count=len(data))
    with torch.no_grad():
        answers = model.pose_head(cached.hidden, cached.changed)
        after = torch.rad2deg(geodesic_distance(answers, cached.targets)).mean()
    assert float(after) == pytest.approx(result.val_deg_after, abs=1e-3)  # the kept head
    for name, tensor in model.state_dict().items():  # only the head changed
        if name in untouched:
            torch.testing.assert_close(tensor, untouched[name], msg=name)


def test_refit_can_keep_the_last_epoch(short_run, data):
    model = load_pretrained(short_run.final_dir)
    result = refit_pose_head(
        model, data, data, samples=64, val_samples=64, epochs=3, lr=3e-3, keep="last"
    )
    assert result.best_epoch == 3 and result.val_deg_after < result.val_deg_before
    with pytest.raises(InvalidInputError, match="best' or 'last"):
        refit_pose_head(model, data, data, samples=4, val_samples=4, epochs=1, keep="first")


@pytest.fixture
def edits(tmp_path, make_poses) -> ConversationList:
    """Edit conversations whose answers move the left arm of the input pose and keep the rest."""
    sources = make_poses(8, seed=5)
    targets = sources.clone()
    targets[:, [16, 18]] = make_poses(8, seed=6)[:, [16, 18]]  # the left arm moves
    ask = f"{POSE_INPUT_TOKEN}\nRaise the left arm."
    return ConversationList(
        [
            Conversation(
                [Message("user", ask), Message("assistant", "<POSE>.")],
                [t],
                None,
                "pose_input",
                input_poses=[s],
            )
            for s, t in zip(sources, targets, strict=True)
        ],
        tmp_path,
    )


@pytest.fixture
def gated_model(tmp_path, make_config, edits):
    """A tiny model with keep gates, trained 2 steps on `edits`."""
    settings = {"steps": 2, "model.pose_seq_length": 2, "model.keep_gates": True}
    return load_pretrained(train(make_config(tmp_path / "out", **settings), edits).final_dir)


def test_a_words_refit_leaves_the_answers_to_photos_and_the_gates(gated_model, edits, data):
    """Grown by a photo head (a copy: it answers as before), the refit of the words' answers
    trains their MLP alone: the photo MLP and the keep gates stay as they were."""
    with pytest.raises(InvalidInputError, match="photo head"):
        refit_pose_head(gated_model, edits, edits, samples=8, val_samples=8, part="words")
    model = grow(gated_model, dataclasses.replace(gated_model.config, photo_head=True))
    cached = cache_pose_states(model, edits, count=len(edits))
    with torch.no_grad():
        before = gated_model.pose_head(cached.hidden, cached.changed)
        for pictured in (False, True):
            flags = torch.full((len(cached),), pictured)
            assert torch.equal(model.pose_head(cached.hidden, cached.changed, flags), before)
    head = {k: v.clone() for k, v in model.pose_head.state_dict().items()}
    result = refit_pose_head(
        model, edits, edits, samples=8, val_samples=8, epochs=5, lr=3e-3, part="words"
    )
    assert result.val_deg_after < result.val_deg_before
    for name, tensor in model.pose_head.state_dict().items():
        trained = name.startswith("mlp.")
        assert torch.equal(tensor, head[name]) != trained, name
    with pytest.raises(InvalidInputError, match="part must be"):
        refit_pose_head(model, edits, edits, samples=8, val_samples=8, part="tail")


def test_refit_trains_the_keep_gates_on_the_joints_edits_keep(gated_model, edits):
    """A model with keep gates: the refit fits the gates (here the gates alone), and keeps the
    epoch whose answers (the kept joints copied) are best."""
    model = gated_model
    sources = torch.stack([c.input_poses[0] for c in edits.items])
    cached = cache_pose_states(model, edits, count=len(edits))
    states, changed, goals = cached.hidden, cached.changed, cached.targets
    before = float(keep_loss(model.pose_head, states, changed, goals))
    mlp = {k: v.clone() for k, v in model.pose_head.mlp.state_dict().items()}
    result = refit_pose_head(
        model, edits, edits, samples=8, val_samples=8, epochs=30, lr=3e-2, part="gates"
    )
    for name, tensor in model.pose_head.mlp.state_dict().items():  # only the gates trained
        torch.testing.assert_close(tensor, mlp[name], msg=name)
    assert result.val_deg_after < result.val_deg_before
    assert float(keep_loss(model.pose_head, states, changed, goals)) < 0.5 * before
    with torch.no_grad():
        answers = model.pose_head(states, changed)
    kept = [j for j in range(24) if j not in (16, 18)]
    assert torch.equal(answers[:, kept], sources[:, kept])  # every kept joint copied exactly


def test_refit_needs_pose_answers(short_run, data):
    model = load_pretrained(short_run.final_dir)
    with pytest.raises(InvalidInputError, match="keep gates"):
        refit_pose_head(model, data, data, samples=4, val_samples=4, epochs=1, part="gates")
    chats = ConversationList([c for c in data.items if not c.poses])
    with pytest.raises(InvalidInputError, match="no <POSE> answers"):
        refit_pose_head(model, chats, chats, samples=4, val_samples=4, epochs=1)


def test_refit_head_command_writes_a_model(short_run, dataset_dir, tmp_path):
    out = tmp_path / "refitted"
    args = ["refit-head", str(short_run.final_dir), "--data", str(dataset_dir), "-o", str(out)]
    args += ["--tasks", "text2pose", "--samples", "6", "--val-samples", "2", "--epochs", "2", "-q"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.splitlines()[0])
    assert (report["train_poses"], report["val_poses"]) == (6, 2)
    assert report["val_deg_after"] <= report["val_deg_before"]
    load_pretrained(out)


def test_refit_head_command_adds_keep_gates_to_a_model_without_them(
    make_config, data, dataset_dir, tmp_path
):
    """`--gates-only` on a model that reads poses but has no keep gates grows it by them (shut
    until fitted) and saves them; on a model that cannot read poses it says why."""
    trained = train(make_config(tmp_path / "run", steps=2), data).final_dir
    out = tmp_path / "gated"
    args = ["refit-head", str(trained), "--data", str(dataset_dir), "-o", str(out), "--tasks"]
    args += ["text2pose", "--samples", "6", "--val-samples", "2", "--epochs", "1", "--gates-only"]
    result = CliRunner().invoke(app, [*args, "-q"])
    assert result.exit_code == 0, result.output
    gated = load_pretrained(out)
    assert gated.config.keep_gates and gated.pose_head.keep is not None
    plain = {**load_pretrained(trained).state_dict()}
    for name, tensor in gated.state_dict().items():
        if not name.startswith("pose_head.keep."):
            torch.testing.assert_close(tensor, plain[name], msg=name)
    blind = make_config(tmp_path / "blind", steps=2, **{"model.pose_seq_length": 0})
    args[1] = str(train(blind, data).final_dir)
    result = CliRunner().invoke(app, [*args, "-q"])
    assert isinstance(result.exception, InvalidInputError)
    assert "pose_seq_length" in str(result.exception)


def test_refit_head_command_words_only_keeps_the_answers_to_photos(
    short_run, dataset_dir, tmp_path
):
    """`--words-only` grows a photo head (the head as it was) and refits the other answers."""
    out = tmp_path / "words"
    args = ["refit-head", str(short_run.final_dir), "--data", str(dataset_dir), "-o", str(out)]
    args += ["--tasks", "text2pose", "--samples", "6", "--val-samples", "2", "--epochs", "2"]
    result = CliRunner().invoke(app, [*args, "--words-only", "--keep", "last", "-q"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.splitlines()[0])["best_epoch"] == 2
    before, after = load_pretrained(short_run.final_dir).pose_head, load_pretrained(out).pose_head
    for name, tensor in before.mlp.state_dict().items():
        assert torch.equal(after.photo_mlp.state_dict()[name], tensor), name
    assert not torch.equal(after.mlp[-1].weight, before.mlp[-1].weight)
    result = CliRunner().invoke(app, [*args, "--words-only", "--gates-only", "-q"])
    assert isinstance(result.exception, InvalidInputError)
