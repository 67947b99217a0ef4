"""What the benchmarks feed the methods: text-pose and image-pose item sets, and training data.

Poses are (N, 24, 3, 3) rotation matrices in `posegpt.body.rotations.POSE_FRAME`. Text sets are
turned to face +z (`posegpt.data.dataset.face_forward`); image sets face as the camera saw them
(HMR's camera-frame roots turned y-up as they are read). Images are loaded lazily, one at a
time, from the dataset.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from posegpt.errors import InvalidInputError

Box = tuple[float, float, float, float]


class LazyImages(Sequence):
    """A sequence of pictures, each opened (as RGB) only when indexed."""

    def __init__(self, loaders: Sequence[Callable[[], Image.Image]]) -> None:
        self._loaders = list(loaders)

    def __len__(self) -> int:
        return len(self._loaders)

    def __getitem__(self, index: int | slice) -> Image.Image | LazyImages:
        if isinstance(index, slice):
            return LazyImages(self._loaders[index])
        return self._loaders[index]()

    def subset(self, rows: Sequence[int]) -> LazyImages:
        return LazyImages([self._loaders[int(i)] for i in rows])


@dataclass
class TextSet:
    """Text -> pose items. texts: what a task-specific model reads (a description or a
    situation query); prompts: the user message as the test set words it (read by methods that
    chat); references: the text retrieval scores a pose against (see `posegpt.eval.bench`);
    families: each item's pose family, where known (see `posegpt.eval.family_classifier`)."""

    texts: list[str]
    poses: torch.Tensor
    prompts: list[str] | None = None
    references: list[str] | None = None
    families: list[str] | None = None

    def __post_init__(self) -> None:
        _check_rows(self.poses, self.texts, self.prompts, self.references, self.families)

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, rows: Sequence[int]) -> TextSet:
        rows = [int(i) for i in rows]
        return TextSet(
            [self.texts[i] for i in rows],
            self.poses[rows],
            _pick(self.prompts, rows),
            _pick(self.references, rows),
            _pick(self.families, rows),
        )


@dataclass
class ImageSet:
    """Image -> pose items.

    images: crops of one person (image->pose) or whole pictures (RPE); keypoints: (N, 17, 3)
    COCO-17 x, y in [0, 1] of the image's width/height and visibility (training the keypoint
    writer); descriptions / kinds: RPE's description of the person and its kind; people: the
    ground-truth boxes (x0, y0, x1, y1, pixels) of everyone in each image, the oracle detector
    of the "largest person" baselines; groups: items sharing one picture share a group id (a
    method that reads no description answers once per group); families: each item's pose
    family, where known; sources: the converted dataset each item comes from ("3dpw", "h36m",
    ...: `posegpt data prepare`), "" where none.
    """

    images: LazyImages
    poses: torch.Tensor
    prompts: list[str] | None = None
    keypoints: np.ndarray | None = None
    descriptions: list[str] | None = None
    kinds: list[str] | None = None
    people: list[list[Box]] | None = None
    groups: list[str] | None = None
    families: list[str] | None = None
    sources: list[str] | None = None

    def __post_init__(self) -> None:
        _check_rows(
            self.poses,
            self.images,
            self.prompts,
            self.keypoints,
            self.descriptions,
            self.kinds,
            self.people,
            self.groups,
            self.families,
            self.sources,
        )

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, rows: Sequence[int]) -> ImageSet:
        rows = [int(i) for i in rows]
        return ImageSet(
            self.images.subset(rows),
            self.poses[rows],
            _pick(self.prompts, rows),
            None if self.keypoints is None else self.keypoints[rows],
            _pick(self.descriptions, rows),
            _pick(self.kinds, rows),
            _pick(self.people, rows),
            _pick(self.groups, rows),
            _pick(self.families, rows),
            _pick(self.sources, rows),
        )


@dataclass
class TrainData:
    """What every method may learn from: the training split, and the validation split for model
    selection (never the test split). text: text->pose pairs (explicit descriptions and SPG
    queries); requests: the instruction conversations' requests answered with one pose (the
    everyday wordings the models train on); crops: image->pose pairs on person crops."""

    text: TextSet | None = None
    requests: TextSet | None = None
    text_val: TextSet | None = None
    crops: ImageSet | None = None
    crops_val: ImageSet | None = None


def _pick(values: list | None, rows: list[int]) -> list | None:
    return None if values is None else [values[i] for i in rows]


def _check_rows(poses: torch.Tensor, *columns: object) -> None:
    if poses.ndim != 4 or poses.shape[1:] != (24, 3, 3):
        raise InvalidInputError(f"poses must be (N, 24, 3, 3), got {tuple(poses.shape)}")
    for column in columns:
        if column is not None and len(column) != len(poses):
            raise InvalidInputError(f"item columns have {len(column)} and {len(poses)} rows")
