import numpy as np
import pytest

from posegpt.data.conversations import (
    image2pose_conversation,
    rpe_conversation,
    text2pose_conversation,
)
from posegpt.data.splits import split_items
from posegpt.data.templates import (
    EVERYDAY_IMAGE_SHARE,
    IMAGE2POSE_EVERYDAY_QUESTIONS,
    IMAGE2POSE_QUESTIONS,
    POSE_ANSWERS,
    QUESTIONS,
    TEXT2POSE_QUESTIONS,
    image2pose_question,
    question_split,
    text2pose_question,
)
from posegpt.errors import InvalidInputError
from posegpt.records import IMAGE_TOKEN, POSE_TOKEN, with_image

POSE = np.eye(3, dtype=np.float32)[None].repeat(24, 0)


def test_paper_template_counts_and_examples():
    assert len(TEXT2POSE_QUESTIONS) >= 9 and len(IMAGE2POSE_QUESTIONS) >= 5
    assert len(POSE_ANSWERS) >= 8
    assert "{description} Give the SMPL pose." in TEXT2POSE_QUESTIONS
    assert all(a.count(POSE_TOKEN) == 1 for a in POSE_ANSWERS)


@pytest.mark.parametrize("kind", sorted(QUESTIONS))
def test_question_splits_are_disjoint_and_cover_everything(kind):
    splits = question_split(kind, 0)
    parts = [set(v) for v in splits.values()]
    assert all(parts) and sum(len(p) for p in parts) == len(QUESTIONS[kind])
    assert set().union(*parts) == set(QUESTIONS[kind])
    assert question_split(kind, 0) == splits


def test_split_items_is_seeded_and_checks_sizes():
    a = split_items(range(20), 3, "x")
    assert a == split_items(range(20), 3, "x") != split_items(range(20), 4, "x")
    assert [len(v) for v in a.values()] == [14, 3, 3]
    with pytest.raises(InvalidInputError):
        split_items([1, 2], 0, "tiny")


def test_text2pose_uses_only_held_out_templates_in_test():
    rng = np.random.default_rng(0)
    test_templates = question_split("text2pose", 0)["test"]
    for _ in range(20):
        question = text2pose_question("the person kneels", rng, "test")
        assert any(t.format(description="The person kneels.") == question for t in test_templates)
    with pytest.raises(InvalidInputError, match="no split"):
        text2pose_question("x", rng, "nope")
    with pytest.raises(InvalidInputError, match="non-empty"):
        text2pose_question("  ", rng)


def test_pose_request_conversations():
    rng = np.random.default_rng(1)
    text = text2pose_conversation("The arms are up", POSE, rng)
    image = image2pose_conversation("crops/a.png", POSE, rng, "val")
    rpe = rpe_conversation("scenes/a.png", "the man on the left.", POSE, rng, "test")
    for conversation, task in ((text, "text2pose"), (image, "image2pose"), (rpe, "rpe")):
        assert conversation.task == task and len(conversation.poses) == 1
        assert conversation.messages[1].content.count(POSE_TOKEN) == 1
    assert image.messages[0].content.startswith(IMAGE_TOKEN + "\n")
    assert "the man on the left" in rpe.messages[0].content
    assert ".." not in rpe.messages[0].content and ".?" not in rpe.messages[0].content
    with pytest.raises(InvalidInputError):
        text2pose_conversation("x", POSE[:3], rng)


def test_everyday_photo_requests_appear_in_training_only():
    everyday = {with_image(q) for q in IMAGE2POSE_EVERYDAY_QUESTIONS}
    rng = np.random.default_rng(0)
    train = [image2pose_question(rng, "train") in everyday for _ in range(2000)]
    assert abs(np.mean(train) - EVERYDAY_IMAGE_SHARE) < 0.05
    held_out = [image2pose_question(rng, split) for split in ("val", "test") for _ in range(200)]
    assert not everyday & set(held_out)
