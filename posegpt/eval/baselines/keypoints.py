"""The paper's "-S" pipeline: a model writes the person's 2D keypoints as text, then an
SMPLify-style fit turns them into a 3D pose.

The keypoint writer is a small CNN (crop -> 17 COCO keypoints and their visibility) trained on
the training crops. Its output goes through text, as a language model's would: each keypoint
predicted visible is written as "name: (x, y)" with x, y in [0, 1] of the crop at
`DECIMALS` decimals, and parsed back, so the quantisation of the text step is part of the
result. The fit (`posegpt.eval.baselines.smplify`) uses a Gaussian pose prior fitted to the
training poses.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from posegpt.body.base import BodyModel
from posegpt.body.prior import GaussianPosePrior
from posegpt.body.rotations import camera_to_y_up
from posegpt.body.skeleton import COCO17_NAMES
from posegpt.errors import InvalidInputError
from posegpt.eval.baselines.base import IMAGE_TASKS, Budget, Method
from posegpt.eval.baselines.crop import training_crops
from posegpt.eval.baselines.nets import conv_backbone, feature_dim, image_batch
from posegpt.eval.baselines.smplify import (
    CROP_PIXELS,
    NUM_KEYPOINTS,
    crop_camera,
    fit_pose_to_keypoints2d,
)
from posegpt.eval.baselines.training import fit_regressor, predict
from posegpt.eval.items import Box, TrainData

DECIMALS = 2
#: Bodies fitted together (bounds memory).
FIT_BATCH = 64
VISIBLE = 0.5
_NAMES = tuple(n.replace("_", " ") for n in COCO17_NAMES)
_NUMBER = r"(-?\d+(?:\.\d*)?|-?\.\d+)"
_ENTRY = re.compile(rf"([a-z][a-z ]*?)\s*:\s*\(\s*{_NUMBER}\s*,\s*{_NUMBER}\s*\)")


def keypoints_to_text(keypoints: np.ndarray, decimals: int = DECIMALS) -> str:
    """(17, 3) keypoints (x, y in [0, 1], visibility) -> "nose: (0.52, 0.13); left eye: ..."
    listing the visible ones (visibility > 0.5), coordinates clipped to [0, 1]."""
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.shape != (NUM_KEYPOINTS, 3):
        raise InvalidInputError(f"keypoints must be (17, 3), got {keypoints.shape}")
    entries = [
        f"{name}: ({x:.{decimals}f}, {y:.{decimals}f})"
        for name, (x, y, v) in zip(_NAMES, np.clip(keypoints, 0.0, 1.0), strict=True)
        if v > VISIBLE
    ]
    return "; ".join(entries) + "." if entries else "No keypoints are visible."


def text_to_keypoints(text: str) -> np.ndarray:
    """Parse `keypoints_to_text` output (or a model's imitation of it) back to (17, 3): named
    keypoints get weight 1, the others (missing or unknown names) weight 0."""
    out = np.zeros((NUM_KEYPOINTS, 3), dtype=np.float32)
    for name, x, y in _ENTRY.findall(text.lower()):
        if name in _NAMES:
            out[_NAMES.index(name)] = (float(x), float(y), 1.0)
    return out


def _keypoint_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 on the coordinates of visible keypoints + binary cross-entropy on visibility."""
    pred = pred.reshape(-1, NUM_KEYPOINTS, 3)
    visible = target[..., 2]
    coords = ((pred[..., :2] - target[..., :2]).abs().sum(-1) * visible).sum()
    coords = coords / visible.sum().clamp(min=1.0)
    return coords + 0.1 * F.binary_cross_entropy_with_logits(pred[..., 2], visible)


class KeypointFit(Method):
    """Crop -> keypoint writer -> text -> parsed keypoints -> SMPLify-style fit. The fit runs in
    the camera frame; its poses are returned in POSE_FRAME, like the item sets'."""

    name = "keypoints as text + fit"
    tasks = IMAGE_TASKS

    def __init__(self, body: BodyModel, budget: Budget | None = None) -> None:
        self.body = body
        self.budget = budget or Budget()
        self.net: nn.Module | None = None
        self.prior: GaussianPosePrior | None = None
        self.history: list[dict[str, float]] = []

    def fit(self, train: TrainData, progress: bool = True) -> None:
        crops = training_crops(train)
        if crops.keypoints is None:
            raise InvalidInputError("the keypoint writer needs 2D keypoints of the training crops")
        torch.manual_seed(self.budget.seed)
        self.prior = GaussianPosePrior.fit(camera_to_y_up(crops.poses))  # to the camera frame
        width = feature_dim()
        self.net = nn.Sequential(
            conv_backbone(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, NUM_KEYPOINTS * 3)
        )
        targets = torch.as_tensor(crops.keypoints, dtype=torch.float32)
        with torch.no_grad():  # start at the mean keypoints, half visible
            mean = targets[..., :2].mean(dim=0)
            self.net[-1].bias.copy_(F.pad(mean, (0, 1)).reshape(-1))
        size = self.budget.image_size
        inputs = image_batch(crops.images, size, progress, "train crops")
        val = None
        if train.crops_val is not None and train.crops_val.keypoints is not None:
            val_targets = torch.as_tensor(train.crops_val.keypoints, dtype=torch.float32)
            val = (image_batch(train.crops_val.images, size), val_targets)
        self.history = fit_regressor(
            self.net, inputs, targets, _keypoint_loss, self.budget, val, "keypoint writer", progress
        )

    def write(self, images: Sequence[Image.Image]) -> list[str]:
        """The keypoint writer's answer for each picture, as text."""
        if self.net is None:
            raise InvalidInputError("fit the keypoint writer first")
        pred = predict(self.net, image_batch(images, self.budget.image_size))
        pred = pred.reshape(-1, NUM_KEYPOINTS, 3)
        pred[..., 2] = pred[..., 2].sigmoid()
        return [keypoints_to_text(k) for k in pred.numpy()]

    def predict_image(
        self,
        images: Sequence[Image.Image],
        descriptions: Sequence[str] | None = None,
        prompts: Sequence[str] | None = None,
        people: Sequence[Sequence[Box]] | None = None,
    ) -> torch.Tensor:
        keypoints = np.stack([text_to_keypoints(t) for t in self.write(images)])
        keypoints[..., :2] *= CROP_PIXELS
        keypoints = torch.as_tensor(keypoints)
        camera = crop_camera()
        poses = [
            fit_pose_to_keypoints2d(
                keypoints[i : i + FIT_BATCH], camera, self.body, self.prior, self.budget.fit_steps
            ).rotmat
            for i in range(0, len(keypoints), FIT_BATCH)
        ]
        return camera_to_y_up(torch.cat(poses))  # camera frame -> POSE_FRAME
