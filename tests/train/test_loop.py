from __future__ import annotations

import json

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from posegpt.errors import InvalidInputError
from posegpt.model import load_pretrained
from posegpt.records import Conversation, Message
from posegpt.train.data import ConversationList
from posegpt.train.loop import train


@pytest.fixture(scope="module")
def run(tmp_path_factory, make_data, make_config):
    """A 50-step tiny run with validation and checkpoints."""
    root = tmp_path_factory.mktemp("run")
    data = make_data(root / "images")
    config = make_config(root / "out", steps=50, eval_every=25, checkpoint_every=20)
    return train(config, data, data, progress=False)


def test_loss_goes_down(run):
    records = [json.loads(line) for line in (run.out / "metrics.jsonl").read_text().splitlines()]
    train_losses = [r["loss"] for r in records if "loss" in r]
    val = [r for r in records if "val_loss" in r]
    assert len(train_losses) == 10 and train_losses[-1] < 0.7 * train_losses[0]
    assert [r["step"] for r in val] == [25, 50] and val[1]["val_loss"] < val[0]["val_loss"]
    assert {"ce", "pose", "lr", "samples_per_s", "grad_norm"} <= records[0].keys()
    assert {"val_ce", "val_pose_l1", "val_geodesic_deg"} <= val[0].keys()
    assert run.train["step"] == 50 and run.val["step"] == 50 and run.samples_per_s > 0


def test_outputs_load_back(run):
    with Image.open(run.out / "loss.png") as image:
        assert image.size == (640, 400)
    assert (run.out / "config.yaml").exists()
    checkpoints = sorted(p.name for p in (run.out / "checkpoints").iterdir())
    assert checkpoints == ["step-00000040", "step-00000050"]  # keep_checkpoints=2
    model = load_pretrained(run.final_dir)
    reply = model.chat([{"role": "user", "content": "The person waves. Give the SMPL pose."}])
    assert isinstance(reply.text, str)
    saved = load_file(run.out / "checkpoints/step-00000050/state/model.safetensors")
    for name, tensor in model.state_dict().items():
        assert torch.equal(saved[name], tensor), name


def test_gradient_accumulation_matches_a_bigger_batch(tmp_path, make_config, make_poses):
    """accumulation 2 x batch 2 = batch 4: one task (the same items per step) and equal answers
    (so the mean CE over the batch equals the mean of the micro-batch means)."""
    items = [
        Conversation(
            [Message("user", f"{text} Give the SMPL pose."), Message("assistant", "<POSE>.")],
            [pose],
            task="text2pose",
        )
        for text, pose in zip(["Arms up.", "A deep squat.", "Kick.", "Lean left now."] * 2,
                              make_poses(8, seed=3), strict=True)
    ]  # fmt: skip
    data = ConversationList(items)
    common = {"steps": 4, "warmup_steps": 0, "schedule": "constant_with_warmup", "log_every": 1}
    big = train(make_config(tmp_path / "big", batch_size=4, **common), data, progress=False)
    accum = train(
        make_config(tmp_path / "accum", batch_size=2, grad_accum=2, **common), data, progress=False
    )
    a = load_file(big.final_dir / "model.safetensors")
    b = load_file(accum.final_dir / "model.safetensors")
    assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-5
    assert abs(big.train["loss"] - accum.train["loss"]) < 1e-5


def test_lora_run_exports_merged_model(tmp_path, data, make_config):
    config = make_config(tmp_path / "lora", steps=5, model={"mode": "lora", "lora_r": 4})
    result = train(config, data, progress=False)
    model = load_pretrained(result.final_dir)
    assert model.config.mode == "lora"
    assert not any("lora" in name for name in model.state_dict())  # merged for export


def test_refuses_to_overwrite_a_run(tmp_path, data, make_config):
    config = make_config(tmp_path / "out", steps=2, bf16=True)
    assert train(config, data, progress=False).steps == 2  # bf16 autocast runs on the CPU too
    with pytest.raises(InvalidInputError, match="--resume"):
        train(config, data, progress=False)
    changed = make_config(tmp_path / "out", steps=2, lr=0.5)
    with pytest.raises(InvalidInputError, match="lr"):
        train(changed, data, resume=True, progress=False)


def test_needs_data_and_backbone(tmp_path, make_config, data):
    with pytest.raises(InvalidInputError, match="data"):
        train(make_config(tmp_path / "out", steps=1))
    with pytest.raises(InvalidInputError, match="llava-path"):
        train(make_config(tmp_path / "out", steps=1, preset="llava-1.5"), data)


@pytest.mark.parametrize("model", [{}, {"mode": "lora", "lora_r": 4}], ids=["scratch", "lora"])
def test_gradient_checkpointing_trains_the_same_weights(tmp_path, data, make_config, model):
    """Recomputing activations in the backward pass saves memory, not results."""
    finals = []
    for name, checkpointing in (("plain", False), ("recompute", True)):
        config = make_config(
            tmp_path / name, steps=3, model=model, gradient_checkpointing=checkpointing
        )
        finals.append(
            load_file(train(config, data, data, progress=False).final_dir / "model.safetensors")
        )
    assert finals[0].keys() == finals[1].keys()
    for key, value in finals[0].items():
        torch.testing.assert_close(finals[1][key], value, atol=1e-5, rtol=1e-4)


def test_init_from_starts_at_the_models_weights(tmp_path, run, data, make_config):
    start = load_pretrained(run.final_dir)
    config = make_config(tmp_path / "tuned", steps=1, lr=1e-12, init_from=str(run.final_dir))
    tuned = load_pretrained(train(config, data, data, progress=False).final_dir)
    assert tuned.tokenizer.get_vocab() == start.tokenizer.get_vocab()
    for name, tensor in start.state_dict().items():  # one step at lr 1e-12: the same weights
        torch.testing.assert_close(tuned.state_dict()[name], tensor, msg=name)
    fresh = make_config(tmp_path / "fresh", steps=1, lr=1e-12)
    scratch = load_pretrained(train(fresh, data, data, progress=False).final_dir)
    first = "pose_head.mlp.0.weight"
    assert not torch.equal(scratch.state_dict()[first], start.state_dict()[first])


def test_init_from_a_lora_export_trains_fresh_adapters_on_its_weights(tmp_path, data, make_config):
    """A LoRA-mode export is merged; fine-tuning it puts new adapters on the merged weights."""
    lora = {"mode": "lora", "lora_r": 4}
    first = train(make_config(tmp_path / "first", steps=2, model=lora), data, progress=False)
    start = load_pretrained(first.final_dir)
    config = make_config(
        tmp_path / "tuned", steps=1, lr=1e-12, model=lora, init_from=str(first.final_dir)
    )
    tuned = load_pretrained(train(config, data, progress=False).final_dir)
    assert tuned.state_dict().keys() == start.state_dict().keys()
    for name, tensor in start.state_dict().items():  # adapters start at zero: the same model
        torch.testing.assert_close(tuned.state_dict()[name], tensor, msg=name)


def test_init_from_refuses_other_model_settings(tmp_path, run, data, make_config):
    config = make_config(tmp_path / "x", steps=1, init_from=str(run.final_dir), preset="small")
    with pytest.raises(InvalidInputError, match="other model settings"):
        train(config, data, data, progress=False)


def _grown_run(tmp_path, data, make_config, model: dict, added: dict, **overrides):
    """A one-step model of `model`'s settings, and a two-step run from it grown by `added`."""
    first = train(make_config(tmp_path / "first", steps=1, model=model), data, progress=False)
    config = make_config(
        tmp_path / "grown",
        steps=2,
        model={**model, **added},
        init_from=str(first.final_dir),
        **overrides,
    )
    grown = train(config, data, progress=False)
    return load_pretrained(first.final_dir), load_pretrained(grown.final_dir)


def test_init_from_grows_clause_features_that_train_at_grown_lr(tmp_path, data, make_config):
    """Turning clause features on adds a zero-initialised projector to the start's weights; with
    `grown_lr` it learns at that rate while the rest learns at `lr`."""
    minilm = {"text_encoder": "minilm"}
    start, grown = _grown_run(
        tmp_path, data, make_config, minilm, {"clause_features": True}, lr=1e-12, grown_lr=1e-2
    )
    assert grown.config.clause_features
    weights = grown.state_dict()
    added = set(weights) - set(start.state_dict())
    assert added and all(name.startswith("text_features.clause_projector.") for name in added)
    for name, tensor in start.state_dict().items():
        torch.testing.assert_close(weights[name], tensor, msg=name)
    assert weights["text_features.clause_projector.2.weight"].abs().max() > 1e-3  # from zero


def test_train_only_grown_trains_the_grown_part_and_keeps_every_other_weight(
    tmp_path, data, make_config
):
    clauses = {"text_encoder": "minilm", "clause_features": True}
    start, grown = _grown_run(
        tmp_path,
        data,
        make_config,
        clauses,
        {"step_features": True},
        lr=1e-2,
        train_only_grown=True,
    )
    weights = grown.state_dict()
    for name, tensor in start.state_dict().items():
        assert torch.equal(weights[name], tensor), name
    assert weights["text_features.step_projector.2.weight"].abs().max() > 1e-3  # from zero


def test_train_only_grown_refuses_a_run_that_grows_nothing(tmp_path, run, data, make_config):
    config = make_config(
        tmp_path / "x", steps=1, init_from=str(run.final_dir), train_only_grown=True
    )
    with pytest.raises(InvalidInputError, match="grow"):
        train(config, data, data, progress=False)
    with pytest.raises(InvalidInputError, match="init_from"):
        make_config(tmp_path / "y", steps=1, train_only_grown=True)


def test_init_from_grows_request_hints_filled_with_the_training_requests(
    tmp_path, data, make_config, make_poses
):
    """A grown hint table holds the training split's one-pose requests, saved with the model."""
    minilm = {"text_encoder": "minilm"}
    first = train(make_config(tmp_path / "first", steps=1, model=minilm), data, progress=False)
    texts = ["Lie on your back.", "Raise both arms.", "Sit on a chair."]
    requests = [
        Conversation([Message("user", t), Message("assistant", "<POSE>.")], [p], task="instruction")
        for t, p in zip(texts, make_poses(3, seed=5), strict=True)
    ]
    source = ConversationList([*data.items, *requests], data.root)
    config = make_config(
        tmp_path / "grown",
        steps=2,
        model={**minilm, "request_hints": 3},
        init_from=str(first.final_dir),
    )
    grown = load_pretrained(train(config, source, progress=False).final_dir)
    hints = grown.text_features.hints
    grown.eval()
    keys = grown.text_features.embedder.embed(texts)
    index, similarity = hints.nearest(keys)
    assert sorted(index.tolist()) == [0, 1, 2] and (similarity > 0.999).all()
