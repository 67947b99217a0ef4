"""Pose families of generated poses: a 1-nearest-neighbour classifier over labelled poses.

A speculative query ("someone proposing marriage") has no single true pose, but it has a true
pose family (kneeling on one knee). The classifier gives any pose the family of the nearest
labelled training pose, comparing the body joints' rotation matrices (the root, i.e. the global
orientation, left out); the benchmark reports how often a method's pose lands in the test
item's family, next to the classifier's own accuracy on the true poses (its ceiling).
`posegpt bench` uses `every_family_classifier`, which learns from samples of every family, for
SPG, person crops and the family a reply's words name (the everyday benchmark's agreement).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import torch

from posegpt.body.base import BodyModel
from posegpt.errors import InvalidInputError
from posegpt.synth.pose_families import FAMILY_LIST
from posegpt.synth.poses import PoseGenerator

#: Poses compared per block (bounds the distance matrix's memory).
BLOCK = 1024
#: Samples of each family `every_family_classifier` learns from, and of each family (another
#: seed) it is scored on: it names 97.3% of those right; a classifier over SPG's train
#: situations' poses (D31), which hold 141 of the 176 families, 78.8%.
SAMPLES_PER_FAMILY, CEILING_SAMPLES = 60, 10


class FamilyClassifier:
    """The family of the nearest labelled pose (Frobenius distance over joints 1..23)."""

    def __init__(self, poses: torch.Tensor, families: Sequence[str]) -> None:
        if len(poses) != len(families) or not len(poses):
            raise InvalidInputError("the family classifier needs as many families as poses, > 0")
        self.features = _features(poses)
        self.families = list(families)

    def predict(self, poses: torch.Tensor) -> list[str]:
        """The family of each (24, 3, 3) pose."""
        features = _features(poses)
        nearest = [
            torch.cdist(features[i : i + BLOCK], self.features).argmin(dim=1)
            for i in range(0, len(features), BLOCK)
        ]
        rows = torch.cat(nearest).tolist() if nearest else []
        return [self.families[r] for r in rows]

    def accuracy(self, poses: torch.Tensor, families: Sequence[str]) -> float:
        """% of `poses` classified as their `families`."""
        if len(poses) != len(families) or not len(poses):
            raise InvalidInputError("need as many families as poses, > 0")
        hits = sum(p == f for p, f in zip(self.predict(poses), families, strict=True))
        return 100.0 * hits / len(families)


def _features(poses: torch.Tensor) -> torch.Tensor:
    if poses.ndim != 4 or poses.shape[1:] != (24, 3, 3):
        raise InvalidInputError(f"poses must be (N, 24, 3, 3), got {tuple(poses.shape)}")
    return poses[:, 1:].reshape(len(poses), -1).float()


def family_samples(
    per_family: int, seed: int, body: BodyModel | None = None
) -> tuple[torch.Tensor, list[str]]:
    """`per_family` poses (N, 24, 3, 3) of every pose family, drawn as the data engine draws
    them (`PoseGenerator`, facing forward), and their families."""
    generator = PoseGenerator(seed=seed, random_yaw=False, body=body)
    poses, families = [], []
    for family in FAMILY_LIST:
        poses += [s.rotmat for s in generator.sample_many(per_family, family.name)]
        families += [family.name] * per_family
    return torch.stack(poses), families


@cache
def every_family_classifier(body: BodyModel | None = None) -> tuple[FamilyClassifier, float]:
    """A classifier over SAMPLES_PER_FAMILY samples of every pose family, and its accuracy on
    CEILING_SAMPLES other samples of each (the ceiling of the everyday benchmark's text/pose
    agreement). Computed once per body model."""
    classifier = FamilyClassifier(*family_samples(SAMPLES_PER_FAMILY, 0, body))
    return classifier, classifier.accuracy(*family_samples(CEILING_SAMPLES, 1, body))
