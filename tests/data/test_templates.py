import numpy as np
import pytest

from posegpt.data.conversations import (
    image2pose_conversation,
    rpe_conversation,
    text2pose_conversation,
)
from posegpt.data.splits import split_items
from posegpt.data.templates import (
    IMAGE2POSE_QUESTIONS,
    POSE_ANSWERS,
    QUESTIONS,
    TEXT2POSE_QUESTIONS,
    question_split,
    text2pose_question,
)
from posegpt.errors import InvalidInputError
from posegpt.records import IMAGE_TOKEN, POSE_TOKEN
from posegpt.synth.instructions import (
    CHAT,
    INSTRUCTION_KINDS,
    behaviour_conversation,
    chat_conversation,
    count_conversation,
    describe_conversation,
    facts_conversation,
    follow_up_conversation,
)
from posegpt.synth.instructions import question_split as instruction_split
from posegpt.synth.speculative import speculative_conversation, spg_split

POSE = np.eye(3, dtype=np.float32)[None].repeat(24, 0)
FACTS = [("Is the left arm raised?", "yes"), ("Which knee is bent?", "the left one")]


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
    situation = spg_split(0)["train"].situations[0]
    spg = speculative_conversation(situation, "kneeling", POSE, rng, spg_split(0)["train"])
    for conversation, task in ((text, "text2pose"), (image, "image2pose"), (rpe, "rpe")):
        assert conversation.task == task and len(conversation.poses) == 1
        assert conversation.messages[1].content.count(POSE_TOKEN) == 1
    assert image.messages[0].content.startswith(IMAGE_TOKEN + "\n")
    assert "the man on the left" in rpe.messages[0].content
    assert ".." not in rpe.messages[0].content and ".?" not in rpe.messages[0].content
    assert "kneeling" in spg.messages[1].content and spg.meta["situation"] == situation.name
    with pytest.raises(InvalidInputError):
        text2pose_conversation("x", POSE[:3], rng)


def test_instruction_conversations_answer_from_their_inputs():
    rng = np.random.default_rng(2)
    facts = facts_conversation("crops/a.png", FACTS, rng)
    assert facts.messages[0].content.startswith(IMAGE_TOKEN)
    assert {m.content for m in facts.messages[1::2]} <= {"Yes.", "The left one."}
    assert not facts.poses
    follow = follow_up_conversation("Arms up.", POSE, FACTS, rng)
    assert len(follow.messages) == 4 and len(follow.poses) == 1 and follow.task == "instruction"
    count = count_conversation("scenes/a.png", 3, rng)
    assert "three" in count.messages[1].content.lower()
    one = count_conversation("s.png", 1, rng).messages[1].content.lower()
    assert "one" in one and "people" not in one
    behaviour = behaviour_conversation("s.png", "the woman in red", "waving", rng)
    assert "waving" in behaviour.messages[1].content.lower()
    describe = describe_conversation("c.png", "the left arm is raised", rng)
    assert describe.messages[1].content == "The left arm is raised."
    assert POSE_TOKEN not in describe.messages[1].content
    chat = chat_conversation(rng, topic="smpl")
    assert chat.messages[1].content in CHAT["smpl"][1] and chat.image is None
    with pytest.raises(InvalidInputError):
        count_conversation("s.png", 99, rng)
    with pytest.raises(InvalidInputError):
        chat_conversation(rng, topic="weather")


def test_instruction_questions_are_held_out():
    kinds = [k for k in INSTRUCTION_KINDS if k != "chat"] + [f"chat/{t}" for t in CHAT]
    for kind in kinds:
        splits = instruction_split(kind, 0)
        assert not set(splits["train"]) & set(splits["test"])
        assert not set(splits["train"]) & set(splits["val"])
