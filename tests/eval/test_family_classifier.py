"""The pose-family classifiers of the SPG and everyday benchmarks."""

from __future__ import annotations

import pytest
import roma
import torch

from posegpt.errors import InvalidInputError
from posegpt.eval.family_classifier import (
    FamilyClassifier,
    every_family_classifier,
    family_samples,
)
from posegpt.synth.pose_families import FAMILY_LIST


def family_poses(n: int, bend: float, seed: int) -> torch.Tensor:
    """n poses with the left knee (joint 4) bent by about `bend` radians and random roots."""
    generator = torch.Generator().manual_seed(seed)
    rotvec = 0.05 * torch.randn(n, 24, 3, generator=generator)
    rotvec[:, 4, 0] += bend
    rotvec[:, 0] = 3.0 * torch.randn(n, 3, generator=generator)  # the root must not matter
    return roma.rotvec_to_rotmat(rotvec)


def test_nearest_labelled_pose_decides_and_the_root_is_ignored():
    train = torch.cat([family_poses(20, 0.0, 0), family_poses(20, 1.5, 1)])
    classifier = FamilyClassifier(train, ["standing"] * 20 + ["kneeling"] * 20)
    test = torch.cat([family_poses(5, 0.0, 2), family_poses(5, 1.5, 3)])
    truth = ["standing"] * 5 + ["kneeling"] * 5
    assert classifier.predict(test) == truth
    assert classifier.accuracy(test, truth) == 100.0
    assert classifier.accuracy(test, truth[::-1]) == 0.0


def test_bad_input_is_refused():
    with pytest.raises(InvalidInputError):
        FamilyClassifier(torch.eye(3).expand(2, 24, 3, 3), ["a"])
    classifier = FamilyClassifier(torch.eye(3).expand(1, 24, 3, 3), ["a"])
    with pytest.raises(InvalidInputError):
        classifier.predict(torch.eye(3).expand(2, 23, 3, 3))


def test_family_samples_hold_every_family_and_differ_by_seed():
    poses, families = family_samples(2, seed=0)
    assert poses.shape == (2 * len(FAMILY_LIST), 24, 3, 3)
    assert families == [f.name for f in FAMILY_LIST for _ in range(2)]
    assert not torch.allclose(poses, family_samples(2, seed=1)[0])


@pytest.mark.slow  # samples 70 poses of each of the 180 families (~20 s)
def test_every_family_classifier_names_other_samples_of_every_family():
    classifier, ceiling = every_family_classifier()
    assert set(classifier.families) == {f.name for f in FAMILY_LIST}
    assert ceiling >= 95.0  # measured 97.3: a reply that names its pose's family agrees
    assert every_family_classifier()[0] is classifier  # computed once
