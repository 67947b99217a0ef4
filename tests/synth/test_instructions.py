import numpy as np
import pytest

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

POSE = np.eye(3, dtype=np.float32)[None].repeat(24, 0)
FACTS = [("Is the left arm raised?", "yes"), ("Which knee is bent?", "the left one")]


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
