import re

import numpy as np
import pytest

from posegpt.body.rotations import identity_pose
from posegpt.synth.everyday import Posed, imperatives, request_text
from posegpt.synth.pose_families import FAMILY_INFO
from posegpt.synth.third_person import third_person


@pytest.mark.parametrize(
    ("imperative", "poss", "said"),
    [
        ("sit down and put your hands on your knees", "her",
         "sits down and puts her hands on her knees"),
        ("look like you are thinking", "their", "looks like they are thinking"),
        ("look like you are thinking", "his", "looks like he is thinking"),
        ("carry a box in front of you", "his", "carries a box in front of him"),
        ("do a deep squat", "her", "does a deep squat"),
        ("kneel down and throw both arms up and cheer", "their",
         "kneels down and throws both arms up and cheers"),
        ("climb up with your left hand and knee leading", "his",
         "climbs up with his left hand and knee leading"),
        ("stretch yourself out", "her", "stretches herself out"),
        ("lie down, raise your left arm and bend your knees", "his",
         "lies down, raises his left arm and bends his knees"),
        ("sit with your legs crossed, right leg in front", "her",
         "sits with her legs crossed, right leg in front"),
    ],
)  # fmt: skip
def test_an_imperative_is_said_of_someone(imperative, poss, said):
    assert third_person(imperative, poss) == said


@pytest.mark.parametrize("imperative", ["arms up in victory", "on hands and knees", "just stand"])
def test_what_does_not_start_with_a_verb_is_not_said(imperative):
    assert third_person(imperative, "his") is None


def test_a_possessive_must_be_known():
    with pytest.raises(ValueError, match="possessive"):
        third_person("sit", "my")


def test_most_family_imperatives_can_be_said_of_someone_and_none_keeps_you():
    said = [third_person(i, "her") for f in FAMILY_INFO for i in imperatives(f)]
    done = [s for s in said if s is not None]
    assert len(done) > 0.9 * len(said)
    assert not any(re.search(r"\byou", s) for s in done)


def test_requests_say_what_someone_does():
    posed = Posed(identity_pose(), "sitting_chair")
    rng = np.random.default_rng(0)
    texts = [request_text(posed, rng, "third_person") for _ in range(200)]
    verbs = ("sits", "takes a seat", "has a seat")
    assert any(v in t for t in texts for v in verbs)
