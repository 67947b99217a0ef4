"""The packaged default model: it loads with no download and answers pose requests with a pose."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from posegpt.body import load_body_model
from posegpt.body.rotations import check_rotmat
from posegpt.eval.predicates import parse
from posegpt.model import DEFAULT_MODEL_DIR, load_chat_model
from posegpt.model.pose_tower.features import NOBODY_REPLY


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


@pytest.mark.parametrize(
    ("request_text", "predicates"),
    [
        ("Show me someone lying on the left side.", ["torso horizontal", "facing sideways"]),
        (
            "Show me someone in the yoga tree pose, standing on the right leg.",
            ["one ankle raised by 0.25", "left_ankle above right_ankle"],
        ),
    ],
)
def test_a_sided_request_gets_a_pose_on_the_side_it_names(model, request_text, predicates):
    """Sided families were answered like the mean of their two mirror images (an upright body
    for "lying on the left side") until the answers to words were refitted (BENCHMARKS.md)."""
    reply = model.chat([{"role": "user", "content": request_text}], keep_sides=True)
    assert len(reply.poses) == 1, reply.text
    with torch.no_grad():
        joints = load_body_model()(reply.poses[0][None].float()).joints[0]
    assert [p for p in predicates if not parse(p)(joints)] == [], reply.text


def test_a_two_step_request_gets_two_poses(model):
    assert model.config.clause_features  # each clause of the turn has its own sentence features
    request = "Show me a person standing and then the same person sitting."
    reply = model.chat([{"role": "user", "content": request}])
    assert len(reply.poses) == 2, reply.text


def test_each_step_of_a_two_step_request_reads_its_own_clause(model):
    """Step features: the k-th pose's tokens read the request's k-th clause."""
    assert model.config.step_features
    reply = model.chat([{"role": "user", "content": "Lie on your back, then sit on a chair."}])
    assert len(reply.poses) == 2, reply.text
    with torch.no_grad():
        first, second = load_body_model()(torch.stack(reply.poses).float()).joints
    lying = parse("torso horizontal")
    assert lying(first) and not lying(second), reply.text


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


def test_the_default_model_reads_photos_through_the_pose_tower_and_poses(model):
    assert model.config.pose_tower == "blazepose" and model.pose_input is not None
    blank = Image.new("RGB", (128, 128), "white")  # nobody in it: words, no made-up pose
    reply = model.chat([{"role": "user", "content": "What pose is this person in?"}], image=blank)
    assert reply.poses == [] and reply.text == NOBODY_REPLY
    pose = model.chat([{"role": "user", "content": "Lie on your back."}]).poses[0]
    words = model.chat([{"role": "user", "content": "Describe this pose."}], poses=[pose])
    assert words.poses == [] and len(words.text.split()) >= 3


REQUEST = "The person raises both arms above the head. Give the SMPL pose."


def test_the_previous_default_stays_available_as_small():
    small = load_chat_model("small")
    assert small.config.preset == "small" and small.pose_input is None
    reply = small.chat([{"role": "user", "content": REQUEST}])
    assert len(reply.poses) == 1
