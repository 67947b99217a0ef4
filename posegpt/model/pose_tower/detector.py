"""BlazePose as the model's eyes: a picture -> every person's 33 landmarks, world landmarks, box.

MediaPipe's PoseLandmarker (Tasks API, `mediapipe` 1.x) runs a bundled BlazePose `.task` file,
"lite" or "heavy" (`BUNDLES`; NOTICE.md beside them), on the CPU with nothing downloaded. Its
multi-person detection misses people in groups, so `PoseDetector` also runs it on overlapping
vertical strips of the picture and keeps one detection per person (`regions`).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posegpt.errors import InvalidInputError
from posegpt.images import ImageInput, load_image

#: BlazePose's landmark count (BlazePose GHUM 3D topology).
NUM_LANDMARKS = 33
#: The bundled BlazePose variants: lite (5.8 MB, fast) and heavy (30.7 MB, about 3.7x slower,
#: closer to mocap on real photos; BENCHMARKS.md, "The heavy BlazePose").
BUNDLES = ("lite", "heavy")
#: The variant the packaged default model reads, and the BlazePose baselines' in `posegpt bench`.
DEFAULT_BUNDLE = "heavy"
#: Strips (x0, x1) in picture widths that the per-region pass runs on, after the whole picture.
STRIPS: tuple[tuple[float, float], ...] = ((0.0, 0.4), (0.3, 0.7), (0.6, 1.0))
#: Two detections are one person when their landmarks lie closer than this (box diagonals).
SAME_PERSON = 0.1
#: Least mean visibility of a person only a strip finds beside people already found: below it,
#: most are slivers or parts of someone found (on 200 val scenes it drops 14 of 45 false
#: detections and 1 of 500 people; BENCHMARKS.md, "Fewer people who are not there").
STRIP_MIN_SCORE = 0.5
#: The margin (a share of the picture's longer side) put around a picture in which nobody is found,
#: for one more pass: BlazePose often misses someone who fills the picture, as in a tight crop (on
#: 300 val person crops it finds nobody in 5, and someone in each of them with this margin).
MARGIN = 0.15
#: A strip's detection whose box reaches one of the strip's inner edges (within this share of the
#: picture's width) is someone the strip cuts through.
CUT_MARGIN = 0.02
#: A cut detection lying at least this share (of its box's area) inside someone already found is
#: part of them seen through the strip, not a new person (on 200 val scenes it drops 9 of 32
#: false detections and 3 of 500 people; BENCHMARKS.md, "Parts of someone a strip cuts through").
CUT_INSIDE = 0.5


@dataclass(frozen=True)
class Person:
    """One detected person.

    `landmarks` (33, 3): x, y as fractions of the picture's width and height (may fall outside
    [0, 1] for parts out of the picture) and visibility in [0, 1]. `world` (33, 3): metres,
    origin between the hips, axes as the camera's (x right, y down, z away from the camera).
    `box` (4,): x0, y0, x1, y1 of the landmarks, clipped to the picture, in picture fractions.
    """

    landmarks: np.ndarray
    world: np.ndarray
    box: np.ndarray

    @property
    def score(self) -> float:
        return float(self.landmarks[:, 2].mean())


def bundle_file(bundle: str) -> Path:
    """The packaged `.task` file of the BlazePose variant `bundle` (one of `BUNDLES`)."""
    if bundle not in BUNDLES:
        raise InvalidInputError(f"bundle must be one of {', '.join(BUNDLES)}, got {bundle!r}")
    return Path(__file__).with_name(f"pose_landmarker_{bundle}.task")


class PoseDetector:
    """`detect(image)` -> list of `Person`, largest first. Thread-safe; reuse one instance.
    `bundle`: a packaged variant's name (`BUNDLES`) or a `.task` file."""

    def __init__(
        self,
        bundle: str | Path = "lite",
        num_poses: int = 5,
        min_confidence: float = 0.5,
        regions: bool = True,
    ) -> None:
        from mediapipe.tasks.python.core.base_options import BaseOptions
        from mediapipe.tasks.python.vision import pose_landmarker

        options = pose_landmarker.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_buffer=_task_file(bundle).read_bytes()),
            num_poses=num_poses,
            min_pose_detection_confidence=min_confidence,
            min_pose_presence_confidence=min_confidence,
        )
        self._lock = threading.Lock()
        with _quiet_native_logs():  # start-up lines, and the first run's one-time warnings
            self._landmarker = pose_landmarker.PoseLandmarker.create_from_options(options)
            self._run(np.zeros((64, 64, 3), np.uint8), (0, 64))
        self.regions = regions
        self._finalizer = weakref.finalize(self, self._landmarker.close)

    def detect(self, image: ImageInput) -> list[Person]:
        """Every person in the picture, one detection each, largest box first."""
        picture = np.asarray(load_image(image))
        people = self._run(picture, (0, picture.shape[1]))
        if self.regions:
            width = picture.shape[1]
            for strip in STRIPS:
                span = (round(strip[0] * width), round(strip[1] * width))
                people = merge_people(people, self._run(picture, span), strip)
        if not people:
            people = self._run_with_margin(picture)
        return sorted(people, key=lambda p: -box_area(p.box))

    def _run_with_margin(self, picture: np.ndarray) -> list[Person]:
        """BlazePose on the picture with a black margin of MARGIN around it, in the picture's
        own fractions (parts in the margin fall outside [0, 1])."""
        height, width = picture.shape[:2]
        pad = round(MARGIN * max(height, width))
        framed = np.pad(picture, ((pad, pad), (pad, pad), (0, 0)))
        people = []
        for found in self._run(framed, (0, framed.shape[1])):
            points = found.landmarks.copy()
            points[:, 0] = (points[:, 0] * framed.shape[1] - pad) / width
            points[:, 1] = (points[:, 1] * framed.shape[0] - pad) / height
            people.append(Person(points, found.world, landmark_box(points)))
        return people

    def _run(self, picture: np.ndarray, span: tuple[int, int]) -> list[Person]:
        """BlazePose on the columns `span` of an (H, W, 3) picture, in whole-picture fractions."""
        import mediapipe as mp

        height, width = picture.shape[:2]
        strip = np.ascontiguousarray(picture[:, span[0] : span[1]])
        with self._lock:
            result = self._landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=strip))
        people = []
        for marks, world in zip(result.pose_landmarks, result.pose_world_landmarks, strict=True):
            points = np.array([[m.x, m.y, m.visibility or 0.0] for m in marks], dtype=np.float32)
            points[:, 0] = (points[:, 0] * strip.shape[1] + span[0]) / width
            metres = np.array([[m.x, m.y, m.z] for m in world], dtype=np.float32)
            people.append(Person(points, metres, landmark_box(points)))
        return people

    def close(self) -> None:
        self._finalizer()


def _task_file(bundle: str | Path) -> Path:
    """A variant's packaged `.task` file, or `bundle` itself when it is a `.task` file."""
    if isinstance(bundle, str) and bundle in BUNDLES:
        return bundle_file(bundle)
    if not Path(bundle).is_file():
        raise InvalidInputError(
            f"bundle must be one of {', '.join(BUNDLES)} or a .task file, got {str(bundle)!r}"
        )
    return Path(bundle)


@contextmanager
def _quiet_native_logs() -> Iterator[None]:
    """Silence what the native code writes straight to stderr (LiteRT's start-up lines)."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def landmark_box(landmarks: np.ndarray) -> np.ndarray:
    """x0, y0, x1, y1 of the landmarks (all of them), clipped to [0, 1]."""
    xy = np.clip(landmarks[:, :2], 0.0, 1.0)
    return np.concatenate([xy.min(0), xy.max(0)]).astype(np.float32)


def box_area(box: np.ndarray) -> float:
    return float(max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0))


def same_person(a: Person, b: Person) -> bool:
    """Whether two detections are one person: the landmarks both see (visibility over 0.5, or
    all where they share none) lie under SAME_PERSON box diagonals apart on average."""
    scale = max(np.hypot(a.box[2] - a.box[0], a.box[3] - a.box[1]), 1e-6)
    both = (a.landmarks[:, 2] > 0.5) & (b.landmarks[:, 2] > 0.5)
    if not both.any():
        both[:] = True
    distance = np.linalg.norm(a.landmarks[both, :2] - b.landmarks[both, :2], axis=1).mean()
    return bool(distance < SAME_PERSON * scale)


def box_inside(a: np.ndarray, b: np.ndarray) -> float:
    """The share of box a's area that lies inside box b (boxes x0, y0, x1, y1)."""
    overlap = np.concatenate([np.maximum(a[:2], b[:2]), np.minimum(a[2:], b[2:])])
    return box_area(overlap) / max(box_area(a), 1e-9)


def cut_by(box: np.ndarray, strip: tuple[float, float]) -> bool:
    """Whether a box (picture fractions) reaches an inner edge of the strip (x0, x1) it was
    found in, within CUT_MARGIN: the strip cuts through that person."""
    x0, x1 = strip
    return bool((x0 > 0 and box[0] <= x0 + CUT_MARGIN) or (x1 < 1 and box[2] >= x1 - CUT_MARGIN))


def merge_people(
    kept: Sequence[Person], new: Sequence[Person], strip: tuple[float, float] = (0.0, 1.0)
) -> list[Person]:
    """`kept` plus each of `new` (the detections of the strip (x0, x1), in picture widths) that
    is nobody in it; where someone is already found, only one seen with a mean visibility of at
    least STRIP_MIN_SCORE and not a part of someone found that the strip cuts through (its box
    at an inner edge of the strip and CUT_INSIDE inside theirs). Of two of one person, the surer
    one."""
    people = list(kept)
    for person in new:
        match = next((i for i, p in enumerate(people) if same_person(p, person)), None)
        if match is None:
            someone_new = person.score >= STRIP_MIN_SCORE and not _part_of(person, people, strip)
            if someone_new or not people:
                people.append(person)
        elif person.score > people[match].score:
            people[match] = person
    return people


def _part_of(person: Person, people: Sequence[Person], strip: tuple[float, float]) -> bool:
    """Whether `person`, found in `strip`, is part of one of `people` that the strip cuts."""
    return cut_by(person.box, strip) and any(
        box_inside(person.box, p.box) >= CUT_INSIDE for p in people
    )
