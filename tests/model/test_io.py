"""Saving and loading PoseGPT folders; merging LoRA; corrupt files."""

from __future__ import annotations

import json

import pytest
import torch

from posegpt.errors import ModelFileError, PoseGPTError
from posegpt.model import build_model, get_config, load_pretrained, merge_lora, save_pretrained


def _perturb(model) -> None:
    """Move every trainable parameter off its initial value (LoRA B and token deltas start at 0)."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(0.05 * torch.randn(p.shape, generator=generator))


def _outputs(model, batch):
    with torch.no_grad():
        out = model.eval()(batch)
    return out.logits, out.pred_rotmat


@pytest.mark.parametrize("mode", ["scratch", "lora"])
def test_save_load_round_trips_exactly(tokenizer, tmp_path, mode, make_batch):
    model = build_model(get_config("tiny", mode=mode, lora_r=4, lora_alpha=8), tokenizer)
    _perturb(model)
    batch = make_batch(model)
    logits, poses = _outputs(model, batch)
    save_pretrained(model, tmp_path / "m")
    loaded = load_pretrained(tmp_path / "m")
    assert loaded.config == model.config
    assert type(loaded.llava) is type(model.llava)
    loaded_logits, loaded_poses = _outputs(loaded, batch)
    assert torch.equal(logits, loaded_logits)
    assert torch.equal(poses, loaded_poses)
    prompt = [{"role": "user", "content": "Two?"}]
    reply, loaded_reply = (m.chat(prompt, max_new_tokens=6) for m in (model, loaded))
    assert reply.text == loaded_reply.text
    # saving again over a model folder replaces it
    save_pretrained(loaded, tmp_path / "m")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_merged_lora_gives_the_same_outputs(tokenizer, tmp_path, make_batch):
    model = build_model(get_config("tiny", mode="lora", lora_r=4, lora_alpha=8), tokenizer)
    _perturb(model)
    batch = make_batch(model)
    logits, poses = _outputs(model, batch)
    merged = merge_lora(model)
    assert not any("lora_" in n for n, _ in merged.named_parameters())
    merged_logits, merged_poses = _outputs(merged, batch)
    assert torch.allclose(logits, merged_logits, atol=1e-5)
    assert torch.allclose(poses, merged_poses, atol=1e-5)
    save_pretrained(merged, tmp_path / "merged")
    assert torch.equal(_outputs(load_pretrained(tmp_path / "merged"), batch)[0], merged_logits)


@pytest.fixture
def saved(tokenizer, tmp_path):
    path = tmp_path / "model"
    save_pretrained(build_model("tiny", tokenizer), path)
    return path


def test_missing_or_corrupt_files_raise_model_file_error(saved):
    weights = saved / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError):
        load_pretrained(saved)
    weights.write_bytes(b"\x00" * 64)
    with pytest.raises(ModelFileError):
        load_pretrained(saved)
    weights.unlink()
    with pytest.raises(ModelFileError):
        load_pretrained(saved)
    (saved / "config.json").write_text("{not json")
    with pytest.raises(ModelFileError):
        load_pretrained(saved)
    with pytest.raises(ModelFileError):
        load_pretrained(saved / "nowhere")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("num_hidden_layers", 3, "does not fit"),
        ("hidden_size", "wide", "invalid backbone config"),
        ("vocab_size", 5, "embeddings"),
    ],
)
def test_configs_that_do_not_fit_are_rejected(saved, field, value, message):
    meta = json.loads((saved / "config.json").read_text())
    meta["backbone"]["text_config"][field] = value
    (saved / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match=message):
        load_pretrained(saved)


def test_old_configs_with_loss_weights_still_load(saved):
    """Models saved before the loss weights moved to training hold `ce_weight`/`pose_weight`."""
    config = json.loads((saved / "config.json").read_text())
    config["config"].update(ce_weight=1.0, pose_weight=10.0)
    (saved / "config.json").write_text(json.dumps(config))
    assert load_pretrained(saved).config == get_config("tiny")


def test_save_refuses_to_replace_other_folders(tokenizer, tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(PoseGPTError):
        save_pretrained(build_model("tiny", tokenizer), tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_poses_are_valid_rotations(saved, make_batch):
    model = load_pretrained(saved)
    _, poses = _outputs(model, make_batch(model))
    eye = torch.eye(3).expand_as(poses)
    assert torch.allclose(poses @ poses.transpose(-1, -2), eye, atol=1e-5)
    assert torch.allclose(torch.det(poses), torch.ones(poses.shape[:2]), atol=1e-5)


@pytest.mark.parametrize("name", ["tokenizer.json", "tokenizer_config.json"])
def test_missing_tokenizer_file_is_named(tokenizer, tmp_path, name):
    """The error names the missing file and never talks of a hub (nothing is fetched)."""
    path = save_pretrained(build_model("tiny", tokenizer), tmp_path / "m")
    (path / "tokenizer" / name).unlink()
    with pytest.raises(ModelFileError) as err:
        load_pretrained(path)
    message = str(err.value)
    assert str(path / "tokenizer" / name) in message and "is missing" in message
    assert "hub" not in message.lower() and "huggingface" not in message.lower()
