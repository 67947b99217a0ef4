"""The pose tower's detections, computed once per dataset and stored, so training never runs
BlazePose per step.

`build_cache(root)` runs the detector over every picture under `root/images` and writes
`root/pose_tower/detections.npz`: `bundle` (the BlazePose variant that found them; caches
written before it existed are "lite"), `names` (N,) image paths relative to `root`, `digests`
(N,) each picture file's SHA-256, `count` (N,) people found, and per picture up to STORED
people's `landmarks`, `world` (N, STORED, 33, 3) and `box` (N, STORED, 4). With `reuse=OTHER`
(a dataset made before, e.g. by the same command before a change to its words) a picture whose
file is byte for byte one of OTHER's takes OTHER's detections instead of running BlazePose.
`TowerInputs` serves model inputs from it; a picture it lacks (e.g. a crop box of a real
dataset) is detected when asked for, with the same variant.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from posegpt.errors import ModelFileError
from posegpt.model.pose_tower.detector import NUM_LANDMARKS, Person, PoseDetector
from posegpt.model.pose_tower.features import tower_features
from posegpt.processes import process_map

CACHE_DIR, CACHE_FILE = "pose_tower", "detections.npz"
#: Most people stored per picture.
STORED = 6
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def cache_path(root: str | os.PathLike) -> Path:
    return Path(root) / CACHE_DIR / CACHE_FILE


def build_cache(
    root: str | os.PathLike,
    bundle: str = "lite",
    progress: bool = True,
    reuse: str | os.PathLike | None = None,
    workers: int = 1,
) -> tuple[Path, int]:
    """Detect the people in every picture under `root/images` with the BlazePose variant
    `bundle` in `workers` processes, taking the stored detections of identical pictures of the
    dataset `reuse`; write the cache and return its path and how many pictures were reused."""
    root = Path(root)
    names = sorted(
        p.relative_to(root).as_posix()
        for p in (root / "images").rglob("*")
        if p.suffix.lower() in IMAGE_SUFFIXES
    )
    if not names:
        raise ModelFileError(f"no pictures under {root / 'images'}")
    digests = [_digest(root / name) for name in names]
    shape = (len(names), STORED, NUM_LANDMARKS, 3)
    arrays = {
        "bundle": np.array(bundle),
        "names": np.array(names),
        "digests": np.array(digests),
        "count": np.zeros(len(names), np.int32),
        "landmarks": np.zeros(shape, np.float32),
        "world": np.zeros(shape, np.float32),
        "box": np.zeros((len(names), STORED, 4), np.float32),
    }
    stored, rows = _reusable(reuse, bundle) if reuse is not None else ({}, {})
    todo = []
    for i, digest in enumerate(digests):
        if digest in rows:
            for key in ("count", "landmarks", "world", "box"):
                arrays[key][i] = stored[key][rows[digest]]
        else:
            todo.append(i)
    found = process_map(_Detect(bundle), [root / names[i] for i in todo], workers)
    found = tqdm(found, "pose tower", len(todo), disable=not progress)
    for i, people in zip(todo, found, strict=True):
        people = people[:STORED]
        arrays["count"][i] = len(people)
        for j, person in enumerate(people):
            arrays["landmarks"][i, j] = person.landmarks
            arrays["world"][i, j] = person.world
            arrays["box"][i, j] = person.box
    path = cache_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return path, sum(d in rows for d in digests)


class _Detect:
    """Picture file -> the people in it; picklable, its detector made on first use (once in
    each process it is sent to)."""

    def __init__(self, bundle: str) -> None:
        self.bundle, self._detector = bundle, None

    def __call__(self, path: Path) -> list[Person]:
        if self._detector is None:
            self._detector = PoseDetector(self.bundle)
        return self._detector.detect(path)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_detector": None}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _reusable(other: str | os.PathLike, bundle: str) -> tuple[dict[str, np.ndarray], dict]:
    """The detections stored for the dataset `other` and, per picture digest, their row;
    digests are computed from `other`'s pictures where its cache predates them."""
    stored = _stored(other, bundle)
    if stored is None:
        raise ModelFileError(f"{other} stores no detections to reuse ({cache_path(other)})")
    if "digests" in stored:
        digests = [str(d) for d in stored["digests"]]
    else:
        files = [Path(other) / str(name) for name in stored["names"]]
        digests = [_digest(f) if f.is_file() else "" for f in files]
    return stored, {d: i for i, d in enumerate(digests) if d}


def stored_bundle(root: str | os.PathLike) -> str | None:
    """The BlazePose variant whose detections the dataset at `root` stores (None: no cache)."""
    path = cache_path(root)
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as npz:  # only the small entry is read
        return _bundle(npz)


def _bundle(npz: np.lib.npyio.NpzFile) -> str:
    """The variant an open cache was written by (caches from before the entry: lite)."""
    return str(npz["bundle"]) if "bundle" in npz.files else "lite"


def _stored(root: str | os.PathLike, bundle: str) -> dict[str, np.ndarray] | None:
    """Every array the dataset at `root` stores (None: no cache); a cache written by another
    BlazePose variant than `bundle` is refused (ModelFileError)."""
    path = cache_path(root)
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as npz:
        found = _bundle(npz)
        if found != bundle:  # before the arrays are read and decompressed
            raise ModelFileError(
                f"{path} holds BlazePose {found} detections, not {bundle}'s: run "
                f"`posegpt data tower {root} --bundle {bundle}`"
            )
        return {k: npz[k] for k in npz.files}


def read_cache(root: str | os.PathLike, bundle: str = "lite") -> dict[str, list[Person]]:
    """Image path (relative to `root`) -> the people stored for it; empty without a cache.
    A cache written by another BlazePose variant than `bundle` is refused (ModelFileError)."""
    data = _stored(root, bundle)
    if data is None:
        return {}
    return {
        str(name): [
            Person(data["landmarks"][i, j], data["world"][i, j], data["box"][i, j])
            for j in range(int(data["count"][i]))
        ]
        for i, name in enumerate(data["names"])
    }


class TowerInputs:
    """(image path, crop box) -> (slots, FEATURE_DIM) tower features, from the cache of the
    dataset at `root`, else by running the BlazePose variant `bundle` on `load()`'s picture;
    with `colours`, also the colours of `load()`'s picture where each person's parts are."""

    def __init__(
        self,
        root: str | os.PathLike | None,
        slots: int,
        bundle: str = "lite",
        colours: bool = False,
    ) -> None:
        self.root, self.slots, self.bundle, self.colours = root, slots, bundle, colours
        self._people: dict[str, list[Person]] | None = None
        self._detector: PoseDetector | None = None

    def __call__(
        self, image: str | None, crop_box: object, load: Callable[[], Image.Image]
    ) -> torch.Tensor:
        if self._people is None:
            self._people = read_cache(self.root, self.bundle) if self.root is not None else {}
        people = self._people.get(str(image)) if image is not None and crop_box is None else None
        picture = load() if people is None or self.colours else None
        if people is None:
            if self._detector is None:
                self._detector = PoseDetector(self.bundle)
            people = self._detector.detect(picture)
        pixels = np.asarray(picture.convert("RGB")) if self.colours else None
        return tower_features(people, self.slots, pixels)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_detector": None}
