"""The HMR-style crop regressor (a small CNN -> the paper's pose head, trained on the training
crops) and the "largest person" wrapper that gives an image method an oracle person detector."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from PIL import Image
from torch import nn

from posegpt.data.images import crop_square
from posegpt.errors import InvalidInputError
from posegpt.eval.baselines.base import IMAGE_TASKS, Budget, Method
from posegpt.eval.baselines.mean_pose import mean_rotation
from posegpt.eval.baselines.nets import conv_backbone, feature_dim, image_batch
from posegpt.eval.baselines.training import fit_regressor, pose_head, predict
from posegpt.eval.items import Box, ImageSet, TrainData
from posegpt.model.pose_head import pose_loss


def training_crops(train: TrainData) -> ImageSet:
    if train.crops is None or len(train.crops) == 0:
        raise InvalidInputError("image baselines need image->pose training crops")
    return train.crops


class CropRegressor(Method):
    """CNN(crop) -> pose head -> rotations (as the training crops'), L1 on rotation matrices,
    best epoch on the val crops. On RPE it reads the whole picture (see `LargestPerson`)."""

    name = "crop regressor"
    tasks = IMAGE_TASKS

    def __init__(self, budget: Budget | None = None) -> None:
        self.budget = budget or Budget()
        self.net: nn.Module | None = None
        self.history: list[dict[str, float]] = []

    def fit(self, train: TrainData, progress: bool = True) -> None:
        crops = training_crops(train)
        size = self.budget.image_size
        torch.manual_seed(self.budget.seed)
        self.net = nn.Sequential(
            conv_backbone(), pose_head(feature_dim(), mean_rotation(crops.poses))
        )
        inputs = image_batch(crops.images, size, progress, "train crops")
        val = None
        if train.crops_val is not None and len(train.crops_val):
            val = (image_batch(train.crops_val.images, size), train.crops_val.poses)
        self.history = fit_regressor(
            self.net, inputs, crops.poses, pose_loss, self.budget, val, self.name, progress
        )

    def predict_image(
        self,
        images: Sequence[Image.Image],
        descriptions: Sequence[str] | None = None,
        prompts: Sequence[str] | None = None,
        people: Sequence[Sequence[Box]] | None = None,
    ) -> torch.Tensor:
        if self.net is None:
            raise InvalidInputError("fit the crop regressor first")
        return predict(self.net, image_batch(images, self.budget.image_size))


def largest_box(boxes: Sequence[Box]) -> Box:
    """The box with the largest area."""
    if not boxes:
        raise InvalidInputError("the oracle detector found nobody in the picture")
    return max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))


class LargestPerson(Method):
    """RPE with an oracle detector: `inner` reads the crop of the largest ground-truth person box
    of each picture (the HMR crop box, so the crop looks like the training crops). The detector
    is an oracle (true boxes), which favours this baseline; the description is ignored."""

    tasks = ("rpe",)

    def __init__(self, inner: Method) -> None:
        self.inner = inner
        self.name = f"{inner.name} + largest person"

    def predict_image(
        self,
        images: Sequence[Image.Image],
        descriptions: Sequence[str] | None = None,
        prompts: Sequence[str] | None = None,
        people: Sequence[Sequence[Box]] | None = None,
    ) -> torch.Tensor:
        if people is None or len(people) != len(images):
            raise InvalidInputError("the largest-person baseline needs the people boxes per image")
        crops = [crop_square(images[i], largest_box(boxes)) for i, boxes in enumerate(people)]
        return self.inner.predict_image(crops)
