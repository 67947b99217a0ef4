"""Everyday conversations: requests in people's words, several poses in order, words only for
other questions; replies name what each pose shows; left and right are the body's own."""

import re

import numpy as np
import pytest
import torch

from posegpt.data.templates import NUMBER_WORDS
from posegpt.records import POSE_TOKEN
from posegpt.synth.everyday import (
    FORM_WEIGHTS,
    Posed,
    britishise,
    everyday_makers,
    misspell,
    multi_conversation,
    request_text,
    single_conversation,
    tables,
    talk_conversation,
    things_questions,
    with_article,
    words,
)
from posegpt.synth.pose_families import FAMILY_INFO
from posegpt.synth.poses import PoseSample

POSE = torch.eye(3).repeat(24, 1, 1)


def test_every_form_words_a_request_naming_the_bodys_own_side():
    rng = np.random.default_rng(0)
    posed = Posed(POSE, "kneeling_one_knee", "right")
    for form in FORM_WEIGHTS:
        texts = {request_text(posed, rng, form) for _ in range(20)}
        assert len(texts) > 1, form
    sided = [request_text(posed, rng, "imperative") for _ in range(40)]
    assert any("right knee" in t for t in sided) and not any("left" in t for t in sided)


def test_a_single_request_is_answered_by_words_naming_the_pose_then_the_pose():
    rng = np.random.default_rng(1)
    for family in ("seated_violin", "lying_on_back", "archery_draw"):
        side = "left" if FAMILY_INFO[family].side else None
        conversation = single_conversation(Posed(POSE, family, side), rng)
        user, assistant = conversation.messages
        assert user.role == "user" and POSE_TOKEN not in user.content
        assert assistant.content.count(POSE_TOKEN) == 1 and len(conversation.poses) == 1
        said = assistant.content.split(POSE_TOKEN)[0].lower()
        assert FAMILY_INFO[family].describe(side).lower() in said


def test_multi_pose_replies_hold_one_named_pose_per_request_in_order():
    rng = np.random.default_rng(2)
    poses = [Posed(POSE * (k + 1), f) for k, f in enumerate(("standing_relaxed", "squatting"))]
    poses.append(Posed(POSE * 3, "lying_on_side", "left"))
    for n in (2, 3):
        conversation = multi_conversation(poses[:n], rng)
        answer = conversation.messages[1].content
        assert answer.count(POSE_TOKEN) == n == len(conversation.poses)
        parts = answer.split(POSE_TOKEN)
        for k, posed in enumerate(poses[:n]):
            assert posed.ger in parts[k] and torch.equal(conversation.poses[k], posed.rotmat)
    asked = [multi_conversation(poses[:2], rng).messages[0].content for _ in range(200)]
    assert not any("{" in q for q in asked)  # every field filled
    assert any(poses[0].ger in q and poses[1].ger in q for q in asked)  # the families' phrases
    assert any(q == q.lower() and "then" in q for q in asked)  # casual or misspelled
    ways = multi_conversation(poses[:2], rng, group="sitting")
    assert ways.meta["group"] == "sitting" and ways.messages[1].content.count(POSE_TOKEN) == 2
    with pytest.raises(Exception, match="2-4"):
        multi_conversation(poses[:1], rng)


def test_other_questions_are_answered_in_words_only():
    rng = np.random.default_rng(3)
    talk = [talk_conversation(rng) for _ in range(200)]
    assert all(not c.poses and POSE_TOKEN not in c.messages[1].content for c in talk)
    topics = {c.meta["topic"] for c in talk}
    assert {"arithmetic", "pose_question", "pose_talk", "greeting", "off_topic"} <= topics
    assert "everyday_things" in topics
    sums = [c for c in talk if c.meta["topic"] == "arithmetic"]
    assert all(any(ch.isdigit() for ch in c.messages[1].content) for c in sums)
    questions = [c.messages[0].content for c in talk]
    assert not any("{" in q for q in questions)  # every field filled
    # sums in words, and questions about poses with counts: neither wants a pose
    words = [q for q in questions if re.search(r"\b(plus|minus|times)\b", q)]
    assert any(w in q for q in words for w in ("seven", "twelve", "two", "three", "five"))
    counted = [c for c in talk if c.meta["topic"] == "pose_question"]
    assert any(
        re.search(r"\b(two|three|four) (tips|mistakes)\b", c.messages[0].content) for c in counted
    )


def test_sums_in_words_are_answered_right():
    rng = np.random.default_rng(5)
    checked = set()
    for _ in range(400):
        c = talk_conversation(rng)
        question, answer = c.messages[0].content, c.messages[1].content
        found = re.search(r"(\w+) (plus|and|minus|times|divided by) (\w+)", question.lower())
        if c.meta["topic"] != "arithmetic" or not found or found[1] not in NUMBER_WORDS:
            continue
        a, op, b = NUMBER_WORDS.index(found[1]), found[2], NUMBER_WORDS.index(found[3])
        ops = {"plus": a + b, "and": a + b, "minus": a - b, "times": a * b}
        expected = ops[op] if op in ops else a / b
        assert re.search(rf"\b{expected:g}\b", answer), (question, answer)
        checked.add(op)
    assert {"plus", "minus", "times", "divided by"} <= checked


def test_typos_and_british_words():
    rng = np.random.default_rng(4)
    text = "Please sit down comfortably on the couch with your favorite pillow."
    assert misspell(text, rng) != text.lower().rstrip(".")
    assert britishise(text) == "Please sit down comfortably on the sofa with your favourite pillow."


def test_makers_draw_from_one_splits_poses():
    samples = [
        PoseSample(POSE, "squatting", {}),
        PoseSample(POSE, "sitting_chair", {}),
        PoseSample(POSE, "sitting_legs_out", {}),
        PoseSample(POSE, "waving", {"side": "right"}),
    ]
    makers = everyday_makers(samples, {0: "A deep squat."}, [0, 1, 2, 3])
    rng = np.random.default_rng(5)
    drawn = [makers[kind](rng) for kind in ("everyday", "multi", "talk") for _ in range(10)]
    families = {f for c in drawn for f in c.meta.get("families", [])}
    assert families <= {"squatting", "sitting_chair", "sitting_legs_out", "waving"}
    assert {c.meta["kind"] for c in drawn} == {"everyday", "multi", "talk"}
    assert everyday_makers(samples, {}, []).keys() == {"talk"}


def test_several_poses_asked_for_are_of_different_families():
    families = ["sitting_chair", "sitting_legs_out", "sitting_cross_legged", "squatting"]
    samples = [PoseSample(POSE, f, {}) for f in families for _ in range(5)]
    makers = everyday_makers(samples, {}, list(range(len(samples))))
    rng = np.random.default_rng(6)
    drawn = [makers["multi"](rng) for _ in range(60)]
    assert {"group" in c.meta for c in drawn} == {True, False}
    for conversation in drawn:
        named = conversation.meta["families"]
        assert 2 <= len(named) == len(set(named)) == len(conversation.poses)


def test_everyday_things_questions_fill_their_field_from_the_word_table():
    templates = tables()[1]["everyday_things"]
    assert len(templates) >= 40
    filled = [q for t in templates for q in things_questions(t)]
    assert len(filled) > 20 * len(templates)
    assert not any("{" in q or "}" in q for q in filled)
    assert any(q.startswith("Where can I buy an ") for q in filled)  # article follows the word
    assert with_article("apple") == "an apple" and with_article("house") == "a house"
    assert all(words()[kind] for kind in ("thing", "food", "animal", "plant", "nature", "city"))
    rng = np.random.default_rng(0)
    asked = [talk_conversation(rng) for _ in range(400)]
    things = [c for c in asked if c.meta["topic"] == "everyday_things"]
    assert len(things) > 20
    answers = set(tables()[1]["topics"]["off_topic"]["answers"])
    assert all(c.messages[1].content in answers and not c.poses for c in things)
    assert len({c.messages[0].content for c in things}) > 0.8 * len(things)


def test_no_request_puts_a_family_phrase_where_only_a_gerund_fits():
    # a phrase is a participle ("sitting on a chair") or not ("in a plank", "on all fours"):
    # "Begin by in a plank" would teach broken English
    def texts(node):
        if isinstance(node, str):
            yield node
        for child in (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        ):
            yield from texts(child)

    assert not [t for t in texts(tables()[0]) if re.search(r"\b(by|switch to|move to) \{ger", t)]
    assert any(not FAMILY_INFO[f].phrase.split()[0].endswith("ing") for f in FAMILY_INFO)
