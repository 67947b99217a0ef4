"""What every converter shares: where its part of the dataset folder goes, the person rows it
collects, image links, the card, progress bars and clear errors for missing inputs.

A converter named NAME writes only its own part of the dataset folder `out`:

  image2pose/NAME/<split>.npz      HMR npz; `imgname` relative to images/, starting with NAME/
  instructions/NAME/<split>.json   LLaVA json (posegpt's "poses" extension where poses exist)
  text2pose/                       PoseScript layout (its AMASS frames under text2pose/amass)
  images/NAME                      a symbolic link to the downloaded images (never a copy)
  cards/NAME.json                  the card: counts per split, what was skipped and why

Re-running a converter rewrites the same files from the same input and deletes the files of
its part that an earlier run wrote and this one did not (e.g. a split no longer present).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from tqdm import tqdm

from posegpt.body.rotations import axis_angle_to_rotmat
from posegpt.body.skeleton import NUM_JOINTS
from posegpt.data.formats import HMR24_NAMES, SHAPE_DIM, HmrData, write_hmr, write_json
from posegpt.errors import InvalidInputError, ModelFileError

IMAGE2POSE_DIR = "image2pose"
INSTRUCTIONS_DIR = "instructions"
IMAGES_DIR = "images"
CARDS_DIR = "cards"

T = TypeVar("T")


def require(path: Path, what: str) -> Path:
    """`path` if it exists, else ModelFileError saying what was expected there."""
    if not path.exists():
        raise ModelFileError(f"{path} not found: expected {what}")
    return path


def find_one(src: Path, patterns: Iterable[str], what: str) -> Path:
    """`src` itself if it is a file, else the first file under `src` matching a pattern."""
    if src.is_file():
        return src
    require(src, what)
    for pattern in patterns:
        found = sorted(src.glob(pattern))
        if found:
            return found[0]
    raise ModelFileError(f"{src} holds no {what} (looked for {', '.join(patterns)})")


def progress(items: Iterable[T], desc: str, show: bool, total: int | None = None) -> Iterator[T]:
    """`items` with a progress bar on stderr when `show`."""
    return iter(tqdm(items, desc=desc, total=total, disable=not show, unit="item"))


@dataclass
class PersonRows:
    """People collected for one split of an image2pose part: one HMR row each."""

    imgname: list[str] = field(default_factory=list)
    center: list[tuple[float, float]] = field(default_factory=list)
    scale: list[float] = field(default_factory=list)
    pose: list[np.ndarray] = field(default_factory=list)  # (24, 3, 3) rotation matrices
    shape: list[np.ndarray] = field(default_factory=list)
    part: list[np.ndarray] = field(default_factory=list)  # (24, 3) in HMR24 order
    extras: dict[str, list] = field(default_factory=dict)

    def add(
        self,
        imgname: str,
        center: tuple[float, float],
        scale: float,
        pose: np.ndarray,
        shape: np.ndarray | None = None,
        part: np.ndarray | None = None,
        **extras: object,
    ) -> None:
        """One person: `pose` as (24, 3, 3) rotation matrices or 72 axis-angle values."""
        pose = np.asarray(pose, dtype=np.float32)
        if pose.shape == (NUM_JOINTS * 3,):
            pose = axis_angle_to_rotmat(pose.reshape(1, -1))[0].numpy()
        if pose.shape != (NUM_JOINTS, 3, 3):
            raise ModelFileError(f"{imgname}: a pose must be 72 values or (24, 3, 3)")
        betas = np.zeros(SHAPE_DIM, np.float32)
        if shape is not None:
            given = np.asarray(shape, np.float32).reshape(-1)[:SHAPE_DIM]
            betas[: len(given)] = given
        keypoints = np.zeros((len(HMR24_NAMES), 3), np.float32) if part is None else part
        if len(self.imgname) and set(extras) != set(self.extras):
            raise InvalidInputError("every person of a split needs the same extra fields")
        self.imgname.append(imgname)
        self.center.append((float(center[0]), float(center[1])))
        self.scale.append(float(scale))
        self.pose.append(pose)
        self.shape.append(betas)
        self.part.append(np.asarray(keypoints, np.float32))
        for key, value in extras.items():
            self.extras.setdefault(key, []).append(value)

    def __len__(self) -> int:
        return len(self.imgname)

    def to_hmr(self, body_model: str = "smpl") -> HmrData:
        n = len(self)
        return HmrData(
            imgname=np.asarray(self.imgname, dtype=str),
            center=np.asarray(self.center, np.float32).reshape(n, 2),
            scale=np.asarray(self.scale, np.float32),
            pose=torch.from_numpy(np.stack(self.pose)) if n else torch.zeros(0, 24, 3, 3),
            shape=np.asarray(self.shape, np.float32).reshape(n, SHAPE_DIM),
            part=np.asarray(self.part, np.float32).reshape(n, len(HMR24_NAMES), 3),
            body_model=body_model,
            extras={k: np.asarray(v) for k, v in self.extras.items()},
        )


def box_of(points: np.ndarray, factor: float = 1.2) -> tuple[tuple[float, float], float]:
    """HMR's (center, scale) of the square box around 2D points (K, 2), enlarged `factor`."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    return ((lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2), factor * float((hi - lo).max()) / 200.0


class Output:
    """The part of dataset folder `out` that converter `name` writes (see the module
    docstring); `finish` removes what an earlier run wrote and this one did not."""

    def __init__(self, out: str | os.PathLike, name: str) -> None:
        self.root, self.name = Path(out), name
        self.written: list[Path] = []
        self.images: str | None = None

    def write_people(self, split: str, rows: PersonRows, body_model: str = "smpl") -> None:
        path = self.root / IMAGE2POSE_DIR / self.name / f"{split}.npz"
        self.written.append(write_hmr(path, rows.to_hmr(body_model)))

    def write_llava(self, split: str, items: list[dict]) -> None:
        path = self.root / INSTRUCTIONS_DIR / self.name / f"{split}.json"
        self.written.append(write_json(path, items))

    def link_images(self, images: str | os.PathLike | None) -> None:
        """Point images/NAME at the downloaded images folder (replacing an older link)."""
        if images is None:
            return
        target = Path(images).resolve()
        if not target.is_dir():
            raise ModelFileError(f"image folder {images} does not exist")
        link = self.root / IMAGES_DIR / self.name
        if link.is_symlink():
            if link.resolve() == target:
                self.images = str(target)
                return
            link.unlink()
        elif link.exists():
            raise ModelFileError(f"{link} exists and is not a link: move it away first")
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target, target_is_directory=True)
        self.images = str(target)

    def finish(self, counts: dict, skipped: dict[str, int], source: Path, **info: object) -> dict:
        """Remove stale files of this part, write the card and return it."""
        keep = {p.resolve() for p in self.written}
        for folder in (IMAGE2POSE_DIR, INSTRUCTIONS_DIR):
            part = self.root / folder / self.name
            for path in part.glob("*") if part.is_dir() else ():
                if path.is_file() and path.resolve() not in keep:
                    path.unlink()
        card = {
            "name": self.name,
            "source": str(Path(source).resolve()),
            "counts": counts,
            "skipped": {k: v for k, v in sorted(skipped.items()) if v},
            "images": self.images,
            "files": sorted(str(p.relative_to(self.root)) for p in self.written),
            **info,
        }
        write_json(self.root / CARDS_DIR / f"{self.name}.json", card)
        return card
