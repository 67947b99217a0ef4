"""Poses counted from the request's words (posegpt.model.pose_count, `PoseGPT.chat`)."""

from __future__ import annotations

import torch

from posegpt.model import build_model
from posegpt.model.pose_count import PoseCount, PoseCountBound, asked_count

ONE = PoseCount(1, 1)  # words with no sign of several poses


def test_words_that_state_a_count_ask_for_exactly_that_many():
    assert asked_count("Show me two different ways to sit.") == PoseCount(2, 2)
    assert asked_count("Could you give me a couple of sleeping positions?") == PoseCount(2, 2)
    assert asked_count("Give me THREE yoga poses for balance") == PoseCount(3, 3)
    assert asked_count("show me 2 different stretches") == PoseCount(2, 2)
    assert asked_count("I need three musicians playing.") == PoseCount(3, 3)
    assert asked_count("A short sequence of three: sit, stand, wave.") == PoseCount(3, 3)
    # a number that counts something else, or names a pose, is no count
    assert asked_count("Lift two arms over your head.") == ONE
    assert asked_count("Hold warrior two.") == ONE
    assert asked_count("Could you generate a warrior two pose?") == ONE  # "pose": not counted
    assert asked_count("I do 3 sets of squats, show me one.") == ONE


def test_sequence_words_ask_for_at_least_one_pose_per_step():
    assert asked_count("Sit on the floor, then lie back.") == PoseCount(2)
    assert asked_count("Kneel, then stand, and finally jump.") == PoseCount(3)
    assert asked_count("A lunge on the left leg followed by one on the right.") == PoseCount(2)
    assert asked_count("Go down on one knee, then hold still.") == ONE  # one pose, held
    assert asked_count("Lie on your back.") == ONE
    assert asked_count("Hold warrior two, then tree pose.") == PoseCount(2)


def test_short_steps_listed_before_a_sequence_word_count_one_pose_each():
    assert asked_count("Can you show me a burpee? Squat, plank, then jump.") == PoseCount(3)
    assert asked_count("A yoga flow: downward dog, cobra, and then child's pose.") == PoseCount(3)
    assert asked_count("squat, lunge, plank, and finally jump") == PoseCount(4)
    assert asked_count("Lie on your back, roll onto your side, then sit up.") == PoseCount(3)
    # one step with its details, and steps each after a sequence word, as before
    assert asked_count("Lie on your back, hands on your belly, then roll over.") == PoseCount(2)
    assert asked_count("Start standing, typing on a keyboard, then dance.") == PoseCount(2)
    assert asked_count("hey, have a seat, hold it, then stand up") == PoseCount(2)
    assert asked_count("Kneel, then stand, and finally jump.") == PoseCount(3)
    assert asked_count("Squat, plank, jump.") == ONE  # no sequence word: no count


def test_other_signs_of_several_poses_ask_for_at_least_two():
    for text in (
        "Start in a plank and end in child's pose.",
        "one kid sitting on the floor and one kid lying on his tummy",
        "I want a before and after of a squat.",
        "Slump in an armchair. Next, kneel on the floor.",
        "Stand tall -> touch your toes",
        "Crouch down at first, then jump at the end.",
        "Show me these: lying on the back, lying on the side, lying face down.",
        "Both a plank and a squat, please.",
        "A man kneeling on one knee and a woman standing next to him.",
        "A man lying on a towel and his daughter sitting on the sand.",
        "Someone bowing and somebody saluting.",
        "Show both: a bow and a salute.",
        "A couple dancing: he's down on one knee, she's on one leg.",
    ):
        assert asked_count(text).least >= 2, text
    assert asked_count("Next: kneel on both knees.") == ONE  # the next pose of a conversation
    assert asked_count("pose: kneeling, head tipped back, right hand at the face") == ONE
    assert asked_count("A man holding a baby and a bag.") == ONE
    assert asked_count("Someone holding a baby and a bag.") == ONE
    assert asked_count("A woman standing next to a chair.") == ONE
    assert asked_count("Show me someone stretching first thing after waking up.") == ONE


def test_numbered_steps_ask_for_at_least_as_many_poses_as_they_number():
    assert asked_count("1. stand tall 2. touch your toes 3. stand back up") == PoseCount(3)
    assert asked_count("First squat, second lunge.") == PoseCount(2)
    assert asked_count("Pose one: hands up. Pose two: hands on knees.") == PoseCount(2)
    assert asked_count("Someone going from sitting on a chair to standing up.") == PoseCount(2)
    assert asked_count("from crouching to standing tall with arms up") == PoseCount(2)
    assert asked_count("From a squat to a jump with arms straight up.") == PoseCount(2)
    assert asked_count("Show someone going from a plank to a squat.") == PoseCount(2)
    # a lone number, a second of time, a trip from a place: no count
    assert asked_count("Stand on 1 leg.") == ONE
    assert asked_count("Hold it for a second.") == ONE
    assert asked_count("Someone walking from the car to the house.") == ONE
    assert asked_count("Someone walking from a car to a house.") == ONE


def test_the_bound_bans_stopping_short_only_after_a_pose_and_posing_past_the_count():
    pose, stop = 5, [0, 1]
    bound = PoseCountBound(PoseCount(2, 3), prompt_length=2, pose_id=pose, stop_ids=stop)
    scores = torch.zeros(3, 8)
    # new tokens: none posed yet; one pose (short of 2); three poses (at most); the prompt's
    # own <POSE> (before prompt_length) does not count
    ids = torch.tensor([[pose, 7, 7, 7, 7], [7, 7, pose, 7, 7], [7, 7, pose, pose, pose]])
    out = bound(ids, scores)
    assert torch.isfinite(out[0]).all()
    assert torch.isinf(out[1, stop]).all() and torch.isfinite(out[1, pose])
    assert torch.isfinite(out[2, stop]).all() and torch.isinf(out[2, pose])
    assert torch.equal(scores, torch.zeros(3, 8))  # the scores given are left as they were


def test_a_reply_with_all_its_poses_ends_after_the_last_one():
    """At `most` poses: after the last pose only a stop or an end mark, after that only a stop;
    a reply short of its count is left as it was."""
    pose, stop, end = 5, [0, 1], [2]
    bound = PoseCountBound(PoseCount(1, 1), 1, pose, stop, end)
    ids = torch.tensor([[7, 7, pose], [7, pose, 2], [7, 7, 7]])
    out = bound(ids, torch.zeros(3, 8))
    assert torch.isfinite(out[0, stop + end]).all() and torch.isinf(out[0, [3, 4, 5, 6, 7]]).all()
    assert torch.isfinite(out[1, stop]).all() and torch.isinf(out[1, [2, 3, 4, 5, 6, 7]]).all()
    assert torch.isfinite(out[2]).all()


def _scripted(tokenizer, first: dict[int, float], then: dict[int, float]):
    """A tiny model whose first reply token's likeliest ids follow `first`, later ones `then`."""
    torch.manual_seed(0)
    model = build_model("tiny", tokenizer).eval()
    calls = []

    def hook(module, inputs, logits):
        bump = torch.zeros(logits.shape[-1])
        for token, value in (first if not calls else then).items():
            bump[token] = value
        calls.append(1)
        return logits + bump

    model.llava.lm_head.register_forward_hook(hook)
    return model, calls


def test_chat_gives_as_many_poses_as_the_words_ask_for(tokenizer):
    """A model that stops after one pose gives two to "then"; one that never stops posing
    gives two to "two ways"; neither changes without `count_from_words`."""
    probe = build_model("tiny", tokenizer)
    pose, stop = probe.pose_token_id, probe.stop_token_ids[0]
    model, calls = _scripted(tokenizer, {pose: 100.0}, {stop: 200.0, pose: 100.0})

    def ask(text: str, **kwargs) -> int:
        calls.clear()
        reply = model.chat([{"role": "user", "content": text}], max_new_tokens=6, **kwargs)
        assert reply.text.count("<POSE>") == len(reply.poses)
        return len(reply.poses)

    sequence = "Sit on a chair, then stand up, then wave."
    assert ask(sequence) == 1
    assert ask(sequence, count_from_words=True) == 3
    assert ask("Stand up straight.", count_from_words=True) == 1  # the words say no count

    model, calls = _scripted(tokenizer, {pose: 100.0}, {pose: 200.0, stop: 100.0})
    assert ask("Show me two ways to sit.") == 6
    assert ask("Show me two ways to sit.", count_from_words=True) == 2
    assert ask("Stand up straight.", count_from_words=True) == 1  # no sign of more: one
    picture = torch.zeros(3, model.config.image_size, model.config.image_size)
    with_picture = model.chat(
        [{"role": "user", "content": "Show me two ways to sit."}],
        image=picture,
        max_new_tokens=6,
        count_from_words=True,
    )
    assert len(with_picture.poses) == 6  # only words-only requests are counted
