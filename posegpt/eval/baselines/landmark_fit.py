"""The BlazePose fit baseline: BlazePose on the picture, then SMPL rotations fitted to the
largest person's world landmarks (`posegpt.model.pose_tower.fit`), from the pose prior's mean
with the root turned to the torso, the prior keeping twists plausible (`fit_with_prior`).
It answers in POSE_FRAME (y up, facing the camera), as every image answer and item set
(`posegpt.body.rotations.camera_to_y_up`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from PIL import Image

from posegpt.body.base import BodyModel
from posegpt.body.prior import GaussianPosePrior
from posegpt.body.rotations import camera_to_y_up
from posegpt.errors import InvalidInputError
from posegpt.eval.baselines.base import IMAGE_TASKS, Method
from posegpt.eval.items import Box, TrainData
from posegpt.model.pose_tower.detector import DEFAULT_BUNDLE, Person, PoseDetector
from posegpt.model.pose_tower.fit import fit_with_prior


def largest_person(people: Sequence[Person]) -> Person | None:
    """The first (largest) detection, or None when nobody was found."""
    return people[0] if people else None


class LandmarkFit(Method):
    """BlazePose (the bundled variant `bundle`, frozen; by default the one the packaged default
    model reads) on the picture, then `fit_with_prior` on the largest person
    found; the prior's mean pose where nobody is found (`misses` counts them). On RPE it reads
    the whole picture and takes the largest detection (no oracle, description ignored)."""

    name = "BlazePose fit"
    tasks = IMAGE_TASKS

    def __init__(self, body: BodyModel, steps: int = 100, bundle: str = DEFAULT_BUNDLE) -> None:
        self.body = body
        self.steps = steps
        self.bundle = bundle
        self.prior: GaussianPosePrior | None = None
        self.detector: PoseDetector | None = None
        self.misses = 0

    def fit(self, train: TrainData, progress: bool = True) -> None:
        if train.crops is None or len(train.crops) < 2:
            raise InvalidInputError("the BlazePose fit's pose prior needs training crops")
        self.prior = GaussianPosePrior.fit(camera_to_y_up(train.crops.poses))  # camera frame

    def predict_image(
        self,
        images: Sequence[Image.Image],
        descriptions: Sequence[str] | None = None,
        prompts: Sequence[str] | None = None,
        people: Sequence[Sequence[Box]] | None = None,
    ) -> torch.Tensor:
        if self.prior is None:
            raise InvalidInputError("fit the BlazePose fit's prior first")
        if self.detector is None:
            self.detector = PoseDetector(self.bundle)
        found = [largest_person(self.detector.detect(image)) for image in images]
        poses = self.prior.mean_pose().expand(len(images), -1, -1, -1).clone()
        rows = [i for i, p in enumerate(found) if p is not None]
        self.misses += len(images) - len(rows)
        if rows:
            world = torch.stack([torch.from_numpy(found[i].world) for i in rows])
            visibility = torch.stack([torch.from_numpy(found[i].landmarks[:, 2]) for i in rows])
            fitted = fit_with_prior(world, visibility, self.body, self.prior, self.steps)
            poses[rows] = fitted
        return camera_to_y_up(poses)  # camera frame -> POSE_FRAME, as the item sets
