"""RPE's right-person rate: the answer nearest the described person, among the picture's."""

from __future__ import annotations

import pytest
import torch

from posegpt.body import load_body_model
from posegpt.eval.items import ImageSet, LazyImages
from posegpt.eval.right_person import candidates, right_person_rates
from posegpt.synth.pose_families import FAMILY_INFO
from posegpt.synth.poses import template_pose


@pytest.fixture(scope="module")
def items() -> ImageSet:
    """Picture a: two people (two kinds each); picture b: one person."""
    a, b, c = (template_pose(f)[0] for f in list(FAMILY_INFO.values())[:3])
    poses = torch.stack([a, a, b, b, c])
    return ImageSet(
        LazyImages([lambda: None] * 5),
        poses,
        kinds=["pose", "outfit", "pose", "outfit", "pose"],
        groups=["a", "a", "a", "a", "b"],
    )


def test_only_pictures_of_several_people_count(items):
    assert sorted(candidates(items)) == [0, 1, 2, 3]
    assert candidates(items)[0] == [0, 2]


def test_rates_per_kind(items):
    body = load_body_model()
    answers = items.poses.clone()
    answers[1] = items.poses[2]  # the outfit answer about person 1 gives person 2's pose
    rates = right_person_rates(answers, items, body)
    assert rates["right_person_pose"] == 100.0 and rates["right_person_outfit"] == 50.0
    assert rates["right_person"] == 75.0
