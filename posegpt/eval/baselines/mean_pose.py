"""The mean-pose baseline: the same pose whatever the request."""

from __future__ import annotations

from collections.abc import Sequence

import roma
import torch
from PIL import Image

from posegpt.errors import InvalidInputError
from posegpt.eval.baselines.base import IMAGE_TASKS, TEXT_TASKS, Method
from posegpt.eval.items import Box, TrainData


def mean_rotation(rotmat: torch.Tensor) -> torch.Tensor:
    """(N, 24, 3, 3) -> (24, 3, 3): per joint, the rotation closest to the arithmetic mean of the
    matrices (the chordal L2 mean: the mean projected back onto SO(3))."""
    if rotmat.ndim != 4 or len(rotmat) == 0:
        raise InvalidInputError(f"need (N >= 1, 24, 3, 3) poses, got {tuple(rotmat.shape)}")
    return roma.special_procrustes(rotmat.double().mean(dim=0)).float()


class MeanPose(Method):
    """Answers every text request with the mean training text pose and every image request
    with the mean training crop pose."""

    name = "mean pose"
    tasks = TEXT_TASKS + IMAGE_TASKS

    def __init__(self) -> None:
        self.text_pose: torch.Tensor | None = None
        self.image_pose: torch.Tensor | None = None

    def fit(self, train: TrainData, progress: bool = True) -> None:
        if train.text is not None:
            self.text_pose = mean_rotation(train.text.poses)
        if train.crops is not None:
            self.image_pose = mean_rotation(train.crops.poses)

    def predict_text(
        self, texts: Sequence[str], prompts: Sequence[str] | None = None
    ) -> torch.Tensor:
        return _repeat(self.text_pose, len(texts), "text")

    def predict_image(
        self,
        images: Sequence[Image.Image],
        descriptions: Sequence[str] | None = None,
        prompts: Sequence[str] | None = None,
        people: Sequence[Sequence[Box]] | None = None,
    ) -> torch.Tensor:
        return _repeat(self.image_pose, len(images), "image")


def _repeat(pose: torch.Tensor | None, n: int, kind: str) -> torch.Tensor:
    if pose is None:
        raise InvalidInputError(f"the mean pose baseline saw no {kind} training poses")
    return pose.expand(n, -1, -1, -1).clone()
