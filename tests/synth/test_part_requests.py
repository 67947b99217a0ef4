"""Requests that name body parts: each clause said holds on the pose, on the side it names."""

import numpy as np
import pytest
import torch

from posegpt.body import load_body_model
from posegpt.body.posecodes import NEUTRAL, posecodes
from posegpt.synth import everyday
from posegpt.synth.everyday import Posed, multi_conversation, request_text
from posegpt.synth.part_requests import (
    HOLDS,
    REGISTERS,
    part_request,
    phrases,
    satisfied,
    table,
)
from posegpt.synth.poses import PoseGenerator

SIDED = ("elbow", "knee", "hand_level", "hand_forward", "hand_out", "hand_near")
FLAGS = ("hand_on_ground", "knee_raised")


def codes(**changes) -> dict:
    """The neutral standing pose's posecodes, with `changes`."""
    out: dict = {"posture_side": "left"}
    for kind, value in NEUTRAL.items():
        if kind in SIDED or kind in FLAGS:
            out[f"left_{kind}"] = out[f"right_{kind}"] = value
        else:
            out[kind] = value
    return out | changes


def requests(c: dict, n: int = 30) -> list:
    rng = np.random.default_rng(0)
    return [part_request(c, rng) for _ in range(n)]


def test_the_table_words_every_clause_three_ways():
    parts = table()
    assert set(parts["clauses"]) == set(HOLDS)
    for entry in [*parts["clauses"].values(), *parts["postures"].values()]:
        assert all(entry[r] for r in REGISTERS)
    assert "right hand on the hip" in phrases("note")


def test_a_standing_pose_with_nothing_clear_to_name_gets_no_request():
    assert requests(codes()) == [None] * 30
    assert requests(codes(head_pitch="bowed")) == [None] * 30  # too vague alone
    seated = requests(codes(posture="sitting", head_pitch="bowed"))
    assert all(r is not None and ("head" in r.note or "looking" in r.note) for r in seated)


def test_a_clause_names_the_side_it_holds_on():
    for r in requests(codes(left_hand_near="hip")):
        for text in (r.imp, r.ger, r.note):
            assert "left" in text and "right" not in text and ("hip" in text or "waist" in text)
    for r in requests(codes(left_hand_near="hip", right_hand_near="hip")):
        assert "left" not in r.imp + r.note and "right" not in r.imp + r.note


def test_a_request_holds_on_its_pose_and_not_on_the_mirrored_one():
    left = codes(left_hand_near="hip", posture="kneeling on one knee", posture_side="left")
    right = codes(right_hand_near="hip", posture="kneeling on one knee", posture_side="right")
    for r in requests(left):
        assert r.names[0] == ("kneeling on one knee", "left")
        assert satisfied(left, r.names) and not satisfied(right, r.names)
    both = codes(left_hand_near="hip", right_hand_near="hip")
    assert all(satisfied(both, r.names) and not satisfied(left, r.names) for r in requests(both))


def test_one_arm_up_names_the_other_arm_down():
    said = requests(codes(right_hand_level="above the head"))
    assert all("right" in r.note for r in said)
    assert any("left arm hanging" in r.note or "other arm down" in r.note for r in said)
    assert all(r.ger.startswith("standing with ") for r in said)


@pytest.mark.slow
def test_requests_of_real_poses_are_worded_in_the_everyday_forms(monkeypatch):
    body = load_body_model()
    generator = PoseGenerator(3, body=body)
    rng = np.random.default_rng(1)
    worded = 0
    for _ in range(40):
        s = generator.sample()
        request = part_request(posecodes(s.joints), rng)
        posed = Posed(s.rotmat, s.family, s.params.get("side"), None, s.joints)
        text = request_text(posed, rng, "parts")
        assert text.strip() and "{" not in text
        worded += request is not None
        assert request is None or satisfied(posecodes(s.joints), request.names)
        if s.family == "sitting_chair" and request is not None:
            assert "sit" in request.imp or "seat" in request.imp
    assert worded >= 25
    monkeypatch.setattr(everyday, "PART_STEP_RATE", 1.0)  # every step names body parts
    samples = [generator.sample() for _ in range(40)]
    poses = [Posed(s.rotmat, s.family, None, None, s.joints) for s in samples]
    sequences = [multi_conversation(poses[k : k + 2], rng) for k in range(0, 40, 2)]
    said = phrases("imp") + phrases("ger")
    named = [any(p in c.messages[0].content.lower() for p in said) for c in sequences]
    assert sum(named) >= 15
    for c, k in zip(sequences, range(0, 40, 2), strict=True):
        assert c.meta["families"] == [poses[k].family, poses[k + 1].family]
    with torch.no_grad():
        assert part_request(posecodes(body(torch.eye(3).repeat(1, 24, 1, 1)).joints[0]), rng)
