"""A tiny PoseGPT overfits text->pose and image->pose pairs; `chat` then reproduces them."""

from __future__ import annotations

import io

import pytest
import torch
from PIL import Image

from posegpt.body.rotations import axis_angle_to_rotmat, geodesic_distance
from posegpt.errors import InvalidInputError
from posegpt.model import POSE_TOKEN, build_model

pytestmark = pytest.mark.slow  # the shared fixture trains for ~250 steps (4-10 s)

ANSWERS = ["Sure, the SMPL pose is <POSE>.", "Here it is: <POSE>", "<POSE>."]
IMAGE_QUESTION = "<image>\nCan you predict the SMPL pose of the person in this image?"
DESCRIPTIONS = [
    "The person stands with both arms raised above the head.",
    "Someone squats low with the knees bent and the back straight.",
    "A man kicks forward with his right leg.",
    "The woman leans to the left with her hands on her hips.",
]
COLOURS = [(220, 30, 30), (30, 200, 30), (30, 30, 220), (240, 240, 240)]


def _conversations() -> list[tuple[list[dict], Image.Image | None, int]]:
    """(messages, image, number of poses): text->pose, image->pose, no pose, two, last token."""
    out = []
    for i, description in enumerate(DESCRIPTIONS):
        question = f"{description} Give the SMPL pose."
        out.append(([_user(question), _assistant(ANSWERS[i % 3])], None, 1))
    for i, colour in enumerate(COLOURS):  # the same question: only the image tells them apart
        image = Image.new("RGB", (48, 40), colour)
        out.append(([_user(IMAGE_QUESTION), _assistant(ANSWERS[(i + 1) % 3])], image, 1))
    out.append(([_user("What colour is the sky?"), _assistant("The sky is blue.")], None, 0))
    out.append(
        ([_user("Show a squat then a wave."), _assistant("First <POSE> then <POSE>.")], None, 2)
    )
    out.append(([_user("Only the pose of a kick."), _assistant("<POSE>")], None, 1))
    return out


def _user(text: str) -> dict:
    return {"role": "user", "content": text}


def _assistant(text: str) -> dict:
    return {"role": "assistant", "content": text}


@pytest.fixture(scope="module")
def trained(tokenizer):
    """(model, [(messages, image, poses)]) after overfitting the conversations."""
    torch.manual_seed(0)
    model = build_model("tiny", tokenizer)
    generator = torch.Generator().manual_seed(1)
    data, samples = [], []
    for messages, image, n in _conversations():
        poses = axis_angle_to_rotmat(torch.randn(n, 24, 3, generator=generator) * 0.4)
        ids, labels = model.encode(messages)
        sample = {"input_ids": ids, "labels": labels, "poses": poses}
        if image is not None:
            sample["pixel_values"] = model.preprocess(image)
        samples.append(sample)
        data.append((messages, image, poses))
    batch = model.collate_fn(samples)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    model.train()
    for _ in range(250):
        out = model(batch)
        loss = out.ce_loss + 0.1 * out.pose_loss  # the paper's weights
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval(), data


def test_chat_reproduces_answers_and_poses(trained):
    model, data = trained
    all_targets = torch.cat([poses for _, _, poses in data])
    for messages, image, targets in data:
        reply = model.chat(messages[:1], image=image, max_new_tokens=16)
        assert reply.text == messages[1]["content"]
        assert reply.text.count(POSE_TOKEN) == len(reply.poses) == len(targets)
        for pose, target in zip(reply.poses, targets, strict=True):
            assert pose.shape == (24, 3, 3)
            errors = geodesic_distance(pose, all_targets).mean(dim=-1)  # to every target
            assert geodesic_distance(pose, target).mean() < 0.15
            assert errors.argmin() == (all_targets == target).flatten(1).all(1).nonzero()[0, 0]


def test_image_decides_the_pose(trained):
    model, data = trained
    red = [d for d in data if d[1] is not None][0]
    from_bytes = io.BytesIO()
    red[1].save(from_bytes, format="PNG")
    reply = model.chat(
        [_user("Can you predict the SMPL pose of the person in this image?")],
        image=from_bytes.getvalue(),
    )  # <image> is inserted when missing
    assert geodesic_distance(reply.poses[0], red[2][0]).mean() < 0.15


def test_pose_as_last_generated_token(trained):
    model, data = trained
    messages = data[-1][0][:1]  # answer "<POSE>", then the end marker
    full = model.chat(messages, max_new_tokens=8)
    cut = model.chat(messages, max_new_tokens=1)  # stops right after <POSE>
    assert cut.text == full.text == POSE_TOKEN
    assert torch.allclose(cut.poses[0], full.poses[0], atol=1e-5)


def test_multi_turn_history_and_sampling(trained):
    model, data = trained
    history = data[8][0] + [_user("Only the pose of a kick.")]
    reply = model.chat(history, max_new_tokens=8)
    assert len(reply.poses) == reply.text.count(POSE_TOKEN)
    first = model.chat(history, do_sample=True, temperature=1.5, seed=3)
    second = model.chat(history, do_sample=True, temperature=1.5, seed=3)
    assert first.text == second.text


def test_chat_rejects_bad_input(trained):
    model, _ = trained
    with pytest.raises(InvalidInputError):
        model.chat([_user("hi")], image=b"this is not an image")
    with pytest.raises(InvalidInputError):  # <image> without an image
        model.chat([_user(IMAGE_QUESTION)])
    with pytest.raises(InvalidInputError):  # pixel values of the wrong size
        model.chat([_user("hi")], image=torch.zeros(3, 8, 8))
    with pytest.raises(InvalidInputError):
        model.chat([_user("hi"), _assistant("hello")])
    with pytest.raises(InvalidInputError):
        model.chat([_user("hi " * 300)])  # longer than the context
