"""`PoseDataset`: a dataset folder -> `Conversation`s for every task, by split.

A dataset folder (what `posegpt data synth` writes; real data in the same layouts drop in):

  text2pose/      PoseScript layout (`posegpt.data.formats`); AMASS root `text2pose/amass`;
                  read both ways: text -> pose, and pose -> text (task `pose2text`)
  image2pose/     HMR npz per split: `train.npz`, `val.npz`, `test.npz`; rows with
                  `description_<kind>` arrays also give RPE items (full image + description),
                  and an `absent_description` array items about someone not in the picture;
                  converted real datasets add theirs in `image2pose/<name>/<split>.npz`
                  (`posegpt data prepare`), read after the top-level file, in name order
  images/         every image; HMR `imgname` and LLaVA `image` paths are relative to it
  speculative/    LLaVA json (+ poses) per split: `train.json`, `val.json`, `test.json`,
                  `test_seen.json`
  instructions/   LLaVA json per split (and `instructions/<name>/<split>.json`, as above)
  pose_input/     LLaVA json (+ poses and input poses) per split: conversations that read
                  poses (`posegpt.synth.pose_tasks`)
  card.json       what is in it (counts, seed, command); README.md says it in words

Missing parts just give no items. text2pose and image2pose conversations are worded when an
item is read, from a random stream keyed by (seed, epoch, task, item): the same item reads the
same within an epoch, differently across epochs (`set_epoch`). In val/test, text->pose uses each
pose's first text (PoseScript's human-written one). Every pose target is in
`posegpt.body.rotations.POSE_FRAME`: image2pose/RPE roots are turned from the HMR files' camera
frame as they are read.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import roma
import torch
from PIL import Image

from posegpt.body.rotations import camera_to_y_up
from posegpt.data.conversations import (
    image2pose_conversation,
    most_detailed,
    pose2text_conversation,
    rpe_absent_conversation,
    rpe_conversation,
    text2pose_conversation,
)
from posegpt.data.formats import (
    IDS_FILE,
    HmrData,
    PoseScriptData,
    read_hmr,
    read_llava,
    read_posescript,
)
from posegpt.data.images import crop_square, open_image
from posegpt.data.sampler import DEFAULT_GROUPS, DEFAULT_SUB_WEIGHTS, MixtureSampler
from posegpt.data.splits import stream
from posegpt.errors import InvalidInputError, ModelFileError
from posegpt.records import Conversation

TEXT2POSE_DIR = "text2pose"
IMAGE2POSE_DIR = "image2pose"
IMAGES_DIR = "images"
SPECULATIVE_DIR = "speculative"
INSTRUCTIONS_DIR = "instructions"
POSE_INPUT_DIR = "pose_input"
CARD_FILE = "card.json"
README_FILE = "README.md"
#: Tasks in the order their items are laid out in a `PoseDataset` (see `TASK_LOADERS`).
TASKS = (
    "text2pose",
    "image2pose",
    "rpe",
    "speculative",
    "instruction",
    "pose_input",
    "pose2text",
)
#: Tasks whose conversations hold input poses (need the model's pose-input tower).
POSE_READING_TASKS = ("pose_input", "pose2text")
DATASET_SPLITS = ("train", "val", "test", "test_seen")
DESCRIPTION_PREFIX = "description_"
#: HMR extra: per row, a description of someone not in that row's picture ("" for none); such
#: RPE items are answered in words, with no pose.
ABSENT_KEY = "absent_description"
ABSENT_KIND = "absent"  # their `meta["kind"]`
#: HMR extra naming a ready-made crop of the person (else the crop is cut when loading).
CROP_KEY = "crop_imgname"
#: HMR extra: the share of the person's box height each crop shows, from the top (1.0: the whole
#: person; less: framed from the waist or thighs up, `posegpt data synth --partial-crops`).
CROP_KEEP_KEY = "crop_keep"


def face_forward(rotmat: torch.Tensor) -> torch.Tensor:
    """Turn poses (..., 24, 3, 3) about the vertical (y) so that the body faces +z (for bodies
    lying face up or down, so that the head points to +z)."""
    root = rotmat[..., 0, :, :]
    forward, up = root[..., :, 2], root[..., :, 1]
    flat = forward[..., [0, 2]]
    lying = flat.norm(dim=-1, keepdim=True) < 0.3
    heading = torch.where(lying, up[..., [0, 2]], flat)
    yaw = torch.atan2(heading[..., 0], heading[..., 1])
    out = rotmat.clone()
    out[..., 0, :, :] = roma.euler_to_rotmat("y", -yaw[..., None]) @ root
    return out


def concat_hmr(parts: list[HmrData]) -> HmrData:
    """One table of the people of several HMR parts. Text extras missing from a part read as
    empty (e.g. a dataset without RPE descriptions); other extras are kept only when every part
    has them with the same shape per row."""
    if len(parts) == 1:
        return parts[0]
    extras = {}
    for key in sorted({k for part in parts for k in part.extras}):
        values = [part.extras.get(key) for part in parts]
        if all(v is None or v.dtype.kind in "US" for v in values):
            extras[key] = np.concatenate(
                [
                    v.astype(str) if v is not None else np.full(len(p), "")
                    for v, p in zip(values, parts, strict=True)
                ]
            )
        elif all(v is not None for v in values) and len({v.shape[1:] for v in values}) == 1:
            extras[key] = np.concatenate(values)
    models = {part.body_model for part in parts}
    return HmrData(
        imgname=np.concatenate([p.imgname for p in parts]),
        center=np.concatenate([p.center for p in parts]),
        scale=np.concatenate([p.scale for p in parts]),
        pose=torch.cat([p.pose for p in parts]),
        shape=np.concatenate([p.shape for p in parts]),
        part=np.concatenate([p.part for p in parts]),
        body_model=models.pop() if len(models) == 1 else "mixed",
        extras=extras,
    )


@dataclass(frozen=True)
class TaskLoader:
    """How a dataset folder gives one task's items: `items(dataset)` lists them once (a key per
    item), `conversation(dataset, key, rng, split)` makes an item's conversation, worded from
    `rng` (keyed by seed, epoch, task and item) with the templates of `split`."""

    items: Callable[[PoseDataset], list]
    conversation: Callable[[PoseDataset, Any, np.random.Generator, str], Conversation]


class PoseDataset(torch.utils.data.Dataset):
    """Conversations of every task from a dataset folder, for one split.

    tasks: the tasks to load (default all); amass_root: where the PoseScript ids' AMASS paths
    point (default `text2pose/amass`); canonical_yaw: turn text->pose targets to face +z (text
    rarely says which way a body faces; PoseScript normalises it too). `items[task]` holds each
    task's item keys (`TASK_LOADERS`), laid out in `TASKS` order.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        split: str = "train",
        seed: int = 0,
        tasks: tuple[str, ...] = TASKS,
        amass_root: str | os.PathLike | None = None,
        canonical_yaw: bool = True,
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise ModelFileError(f"dataset folder {self.root} does not exist")
        if split not in DATASET_SPLITS:
            raise InvalidInputError(f"split must be one of {DATASET_SPLITS}, got {split!r}")
        unknown = set(tasks) - set(TASKS)
        if unknown:
            raise InvalidInputError(f"unknown tasks {sorted(unknown)}; valid: {TASKS}")
        self.split, self.seed, self.epoch = split, seed, 0
        self.text = self._load_text(amass_root, canonical_yaw) if "text2pose" in tasks else None
        self.hmr = self._load_hmr() if {"image2pose", "rpe"} & set(tasks) else None
        self.items = {
            task: TASK_LOADERS[task].items(self) if task in tasks else [] for task in TASKS
        }
        self.sizes = {task: len(items) for task, items in self.items.items()}
        starts = np.cumsum([0, *self.sizes.values()]).tolist()
        self.offsets = dict(zip(TASKS, starts, strict=False))

    # -- loading ------------------------------------------------------------------------------

    def _load_text(self, amass_root, canonical_yaw) -> PoseScriptData | None:
        folder = self.root / TEXT2POSE_DIR
        if not (folder / IDS_FILE).exists():
            return None
        data = read_posescript(folder, amass_root, splits=(self.split,))
        if canonical_yaw and len(data.ids):
            data.poses = face_forward(data.poses)
        return data

    def _parts(self, folder: str, suffix: str) -> list[Path]:
        """`folder/<split><suffix>`, then each converted dataset's `folder/<name>/<split>...`."""
        name = f"{self.split}{suffix}"
        top = self.root / folder / name
        return [top] * top.exists() + sorted((self.root / folder).glob(f"*/{name}"))

    def _load_hmr(self) -> HmrData | None:
        paths = self._parts(IMAGE2POSE_DIR, ".npz")
        return concat_hmr([read_hmr(path) for path in paths]) if paths else None

    def _text_ids(self) -> list[int]:
        return self.text.splits.get(self.split, []) if self.text is not None else []

    def _hmr_rows(self) -> list[int]:
        return list(range(len(self.hmr))) if self.hmr is not None else []

    def _rpe_items(self) -> list[tuple[int, str]]:
        if self.hmr is None:
            return []
        kinds = sorted(k for k in self.hmr.extras if k.startswith(DESCRIPTION_PREFIX))
        kinds += [ABSENT_KEY] * (ABSENT_KEY in self.hmr.extras)
        return [
            (row, kind)
            for row in range(len(self.hmr))
            for kind in kinds
            if str(self.hmr.extras[kind][row]).strip()
        ]

    def _load_llava(self, folder: str) -> list[Conversation]:
        conversations = [c for path in self._parts(folder, ".json") for c in read_llava(path)]
        for c in conversations:
            if c.image is not None:
                c.image = f"{IMAGES_DIR}/{c.image}"
        return conversations

    # -- conversations ------------------------------------------------------------------------

    def _text_pair(
        self, pose_id: int, rng: np.random.Generator, split: str
    ) -> tuple[str, torch.Tensor, dict]:
        """(text, pose, meta) of a text->pose item: a random one of its texts in training, its
        first (human-written) one otherwise."""
        texts = self.text.texts(pose_id)
        text = texts[int(rng.integers(len(texts)))] if split == "train" else texts[0]
        return text, self.text.pose(pose_id), {"id": pose_id, "split": self.split}

    def _text2pose(self, pose_id: int, rng: np.random.Generator, split: str) -> Conversation:
        text, pose, meta = self._text_pair(pose_id, rng, split)
        return text2pose_conversation(text, pose, rng, split, self.seed, meta)

    def _pose2text(self, pose_id: int, rng: np.random.Generator, split: str) -> Conversation:
        """A text->pose item read the other way (describe the pose: its most detailed text, in
        every split); off unless weighted in."""
        text = most_detailed(self.text.texts(pose_id))
        meta = {"id": pose_id, "split": self.split}
        return pose2text_conversation(text, self.text.pose(pose_id), rng, meta)

    def _image2pose(self, row: int, rng: np.random.Generator, split: str) -> Conversation:
        image, meta = self._crop(row)
        return image2pose_conversation(image, self._pose(row), rng, split, self.seed, meta)

    def _pose(self, row: int) -> torch.Tensor:
        """The pose of HMR row `row` in POSE_FRAME (HMR files hold the camera frame)."""
        return camera_to_y_up(self.hmr.pose[row])

    def _rpe(self, item: tuple[int, str], rng: np.random.Generator, split: str) -> Conversation:
        row, kind = item
        target = str(self.hmr.extras[kind][row])
        image = self._image_path(self.hmr.imgname[row])
        if kind == ABSENT_KEY:
            meta = {"row": row, "kind": ABSENT_KIND, "split": self.split}
            return rpe_absent_conversation(image, target, rng, split, self.seed, meta)
        meta = {"row": row, "kind": kind[len(DESCRIPTION_PREFIX) :], "split": self.split}
        return rpe_conversation(image, target, self._pose(row), rng, split, self.seed, meta)

    # -- access -------------------------------------------------------------------------------

    def set_epoch(self, epoch: int) -> None:
        """Word the text2pose / image2pose / RPE items afresh (deterministically per epoch)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return sum(self.sizes.values())

    def task_of(self, index: int) -> tuple[str, int]:
        """(task, index within the task) of a dataset index."""
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for a dataset of {len(self)}")
        for task in reversed(TASKS):
            if index >= self.offsets[task] and self.sizes[task]:
                return task, index - self.offsets[task]
        raise IndexError(index)

    def __getitem__(self, index: int) -> Conversation:
        task, i = self.task_of(int(index))
        rng = stream(self.seed, f"{self.epoch}/{task}/{i}")
        split = "test" if self.split == "test_seen" else self.split
        return TASK_LOADERS[task].conversation(self, self.items[task][i], rng, split)

    def _crop(self, row: int) -> tuple[str, dict]:
        """The image of HMR row `row` (a ready crop, or the full image + `crop_box` in meta)."""
        meta: dict = {"row": row, "split": self.split}
        crop = self.hmr.extras.get(CROP_KEY)
        if crop is not None and str(crop[row]):
            return self._image_path(crop[row]), meta
        meta["crop_box"] = self.hmr.box(row)
        return self._image_path(self.hmr.imgname[row]), meta

    def _image_path(self, name: str) -> str:
        """An image name from a data file -> a path relative to the dataset root. Human3.6M
        names ("S1_Directions_1.54138969_000001.jpg", also under a converted dataset's folder:
        "h36m/S1_...") also resolve in their subject/sequence folders
        ("S1/S1_Directions_1.54138969/...")."""
        rel = PurePosixPath(str(name))
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise ModelFileError(f"image path {name!r} must be relative and stay in the dataset")
        images = self.root / IMAGES_DIR
        if not (images / rel).exists() and len(rel.parts) <= 2 and "_" in rel.stem:
            subject, sequence = rel.stem.split("_", 1)[0], rel.stem.rsplit("_", 1)[0]
            nested = rel.parent / subject / sequence / rel.name
            if (images / nested).exists():
                rel = nested
        return f"{IMAGES_DIR}/{rel}"

    def load_image(self, conversation: Conversation) -> Image.Image | None:
        """The conversation's image (RGB, cropped to `meta["crop_box"]` if set), or None."""
        if conversation.image is None:
            return None
        image = open_image(self.root / conversation.image)
        box = conversation.meta.get("crop_box")
        return crop_square(image, box) if box is not None else image

    def sampler(
        self,
        batch_size: int,
        groups: dict[str, float] | None = None,
        sub_weights: dict[str, dict[str, float]] | None = None,
        num_batches: int | None = None,
    ) -> MixtureSampler:
        """A `MixtureSampler` over this dataset's tasks (the paper's 2 : 1 : 1 by default)."""
        return MixtureSampler(
            self.sizes,
            batch_size,
            seed=self.seed,
            groups=groups or DEFAULT_GROUPS,
            sub_weights=sub_weights or DEFAULT_SUB_WEIGHTS,
            offsets=self.offsets,
            num_batches=num_batches,
        )


def _stored(dataset: PoseDataset, conversation: Conversation, rng, split) -> Conversation:
    """A conversation read whole from the folder (LLaVA json): no wording to draw."""
    return conversation


#: Each task's items and conversations, in layout order. A new task is one entry here (and its
#: name in `posegpt.records.Task`).
TASK_LOADERS: dict[str, TaskLoader] = {
    "text2pose": TaskLoader(PoseDataset._text_ids, PoseDataset._text2pose),
    "image2pose": TaskLoader(PoseDataset._hmr_rows, PoseDataset._image2pose),
    "rpe": TaskLoader(PoseDataset._rpe_items, PoseDataset._rpe),
    "speculative": TaskLoader(lambda d: d._load_llava(SPECULATIVE_DIR), _stored),
    "instruction": TaskLoader(lambda d: d._load_llava(INSTRUCTIONS_DIR), _stored),
    "pose_input": TaskLoader(lambda d: d._load_llava(POSE_INPUT_DIR), _stored),
    "pose2text": TaskLoader(PoseDataset._text_ids, PoseDataset._pose2text),
}
