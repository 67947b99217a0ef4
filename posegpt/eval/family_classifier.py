"""Pose families of generated poses: a 1-nearest-neighbour classifier over labelled poses.

A speculative query ("someone proposing marriage") has no single true pose, but it has a true
pose family (kneeling on one knee). The classifier gives any pose the family of the nearest
labelled training pose, comparing the body joints' rotation matrices (the root, i.e. the global
orientation, left out); the benchmark reports how often a method's pose lands in the test
item's family, next to the classifier's own accuracy on the true poses (its ceiling).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from posegpt.errors import InvalidInputError

#: Poses compared per block (bounds the distance matrix's memory).
BLOCK = 1024


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
