"""The packaged default model: it loads with no download and answers pose requests with a pose."""

from __future__ import annotations

import pytest
import torch

from posegpt.body.rotations import check_rotmat
from posegpt.model import DEFAULT_MODEL_DIR, load_chat_model


@pytest.fixture(scope="module")
def model():
    return load_chat_model()


def test_default_model_ships_in_safetensors_under_100_mb():
    weights = list(DEFAULT_MODEL_DIR.glob("*.safetensors"))
    assert weights and sum(w.stat().st_size for w in weights) < 100 * 2**20
    assert not list(DEFAULT_MODEL_DIR.rglob("*.bin")) and not list(DEFAULT_MODEL_DIR.rglob("*.pt"))


@pytest.mark.parametrize(
    "request_text",
    [
        "The person raises both arms above the head. Give the SMPL pose.",
        "What pose would someone proposing marriage be in? Give the SMPL pose.",
    ],
)
def test_a_pose_request_gets_exactly_one_pose(model, request_text):
    reply = model.chat([{"role": "user", "content": request_text}])
    assert len(reply.poses) == 1, reply.text
    check_rotmat(reply.poses[0])


def test_different_descriptions_give_different_poses(model):
    texts = [
        "The person raises both arms above the head. Give the SMPL pose.",
        "Someone squats low with the knees bent. Give the SMPL pose.",
    ]
    a, b = (model.chat([{"role": "user", "content": t}]).poses[0] for t in texts)
    assert (a - b).abs().max() > 0.1  # not one mean pose for every request
    assert torch.isfinite(a).all() and torch.isfinite(b).all()


def test_a_greeting_gets_words_and_no_pose(model):
    reply = model.chat([{"role": "user", "content": "Hello, who are you?"}])
    assert reply.poses == [] and "<POSE>" not in reply.text and len(reply.text.split()) >= 3
