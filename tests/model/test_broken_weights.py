"""A model with NaN weights fails loudly instead of answering "" with success."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file, save_file

from posegpt.errors import ModelFileError
from posegpt.model import build_model, load_pretrained, save_pretrained

ASK = [{"role": "user", "content": "Give the SMPL pose."}]


def test_chat_with_nan_language_model_raises(tokenizer):
    model = build_model("tiny", tokenizer)
    with torch.no_grad():
        model.backbone.get_input_embeddings().weight.fill_(float("nan"))
    with pytest.raises(ModelFileError, match="non-finite token scores"):
        model.chat(ASK, max_new_tokens=4)


def test_chat_with_nan_pose_head_raises(tokenizer, monkeypatch):
    """The language model is fine and emits <POSE>; the pose head's NaN is caught."""
    model = build_model("tiny", tokenizer)
    with torch.no_grad():
        model.pose_head.mlp[0].weight.fill_(float("nan"))
    hidden = model.pose_head.mlp[0].weight.shape[1]
    ids = torch.tensor([model.pose_token_id, model.stop_token_ids[0]])
    scores = torch.zeros(len(tokenizer))
    monkeypatch.setattr(model, "_generate", lambda *args: (ids, torch.zeros(2, hidden), scores))
    with pytest.raises(ModelFileError, match="non-finite poses"):
        model.chat(ASK, max_new_tokens=4)


def test_loading_nan_weights_names_the_tensor(tokenizer, tmp_path):
    path = save_pretrained(build_model("tiny", tokenizer), tmp_path / "m")
    state = load_file(path / "model.safetensors")
    name = sorted(state)[3]
    state[name] = torch.full_like(state[name], float("inf"))
    save_file(state, path / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ModelFileError, match="NaN or infinite weights") as err:
        load_pretrained(path)
    assert name in str(err.value)
