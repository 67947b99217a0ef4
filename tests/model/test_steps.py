"""Each step of a several-pose request asked alone (posegpt.model.steps, `PoseGPT.chat`)."""

from __future__ import annotations

import torch

from posegpt.model import Reply, build_model
from posegpt.model.network import _asked_alone
from posegpt.model.steps import joined_steps, step_clauses, two_steps


def test_a_request_is_cut_into_the_steps_it_lists():
    assert step_clauses("Squat down low, then jump up with your arms overhead.") == [
        "Squat down low",
        "Jump up with your arms overhead.",
    ]
    # a preamble ending in ":" is no step; leading connectives are dropped
    assert step_clauses(
        "Three steps: lying face down, then on hands and knees, and finally standing up."
    ) == ["Lying face down", "On hands and knees", "Standing up."]
    assert step_clauses("Begin seated cross-legged, then lie back flat.") == [
        "Seated cross-legged",
        "Lie back flat.",
    ]
    # one request, however long, is one step; a clause of one word joins the next
    assert step_clauses("Show me two different ways to sit on the floor.") == [
        "Show me two different ways to sit on the floor."
    ]
    assert step_clauses("Sit, then stand up.") == ["Sit, then stand up."]
    assert step_clauses("child's pose, then a cat-cow stretch") == [
        "Child's pose",
        "A cat-cow stretch",
    ]


def test_two_steps_named_in_one_clause_are_told_apart():
    assert two_steps("Start kneeling on both knees and finish standing with your arms up.") == [
        "Kneeling on both knees",
        "Standing with your arms up",
    ]
    assert two_steps("From standing to sitting cross-legged on the floor.") == [
        "Standing",
        "Sitting cross-legged on the floor",
    ]
    assert two_steps("Both a plank and a squat, please.") == ["A plank", "A squat"]
    assert two_steps("one kid sitting down and one kid lying on his tummy") == [
        "One kid sitting down",
        "One kid lying on his tummy",
    ]
    assert two_steps("A man kneeling on one knee and a woman standing next to him.") == [
        "A man kneeling on one knee",
        "A woman standing next to him",
    ]
    assert two_steps("Lie on your back with your arms and legs spread.") is None


def test_the_replies_to_the_steps_make_one_reply():
    texts = ["Sure, squatting: <POSE>", "Okay, in order: First: jumping <POSE> Second <POSE>"]
    joined = "First: Sure, squatting: <POSE> Then: Okay, in order: First: jumping <POSE>"
    assert joined_steps(texts) == joined


def test_chat_asks_each_step_alone_when_the_reply_has_one_pose_per_step(tokenizer):
    """A model made to say only <POSE> answers with as many poses as it has tokens."""
    torch.manual_seed(0)
    model = build_model("tiny", tokenizer).eval()
    bump = torch.zeros(len(tokenizer))
    bump[model.pose_token_id] = 100.0  # <POSE> is always the likeliest next token
    model.llava.lm_head.register_forward_hook(lambda module, inputs, logits: logits + bump)
    for weight in model.pose_head.parameters():  # poses that differ with the hidden state
        torch.nn.init.normal_(weight, std=0.5)
    request = [{"role": "user", "content": "Sit on a chair, then stand up tall."}]

    together = model.chat(request, max_new_tokens=2)
    alone = model.chat(request, max_new_tokens=2, steps_alone=True)
    assert together.text.count("<POSE>") == len(together.poses) == 2
    assert alone.text.startswith("First: ") and " Then: " in alone.text
    assert len(alone.poses) == 2
    for pose, step in zip(alone.poses, ["Sit on a chair", "Stand up tall."], strict=True):
        asked = model.chat([{"role": "user", "content": step}], max_new_tokens=2)
        torch.testing.assert_close(pose, asked.poses[0])
    assert not torch.allclose(alone.poses[1], together.poses[1])  # read in another context

    # as many steps as poses only: a reply of three poses to two steps is kept
    three = model.chat(request, max_new_tokens=3, steps_alone=True)
    assert three.text == model.chat(request, max_new_tokens=3).text
    assert len(three.poses) == 3


def test_a_two_step_request_in_one_clause_is_asked_step_by_step():
    """`_asked_alone` takes the two steps of "from X to Y" when its clauses are fewer than the
    poses, and keeps the reply when the steps and poses still differ in number."""
    pose = torch.eye(3).expand(24, 3, 3)
    asked = []

    def chat(messages):
        asked.append(messages[-1]["content"])
        return Reply(f"{messages[-1]['content']} <POSE>", [pose])

    request, reply = (
        "From standing to sitting cross-legged.",
        ("two <POSE> poses <POSE>", [pose] * 2),
    )
    text, poses = _asked_alone(chat, request, *reply)
    assert asked == ["Standing", "Sitting cross-legged"] and len(poses) == 2
    assert text == joined_steps(["Standing <POSE>", "Sitting cross-legged <POSE>"])
    asked.clear()
    three = ("a <POSE> b <POSE> c <POSE>", [pose] * 3)
    assert _asked_alone(chat, request, *three) == three and not asked
