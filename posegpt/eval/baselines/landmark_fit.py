"""SMPL rotations from BlazePose world landmarks by optimisation, and the baseline built on it.

`fit_to_landmarks` poses the body model so that its bones point where BlazePose's do:

    sum_b w_b |unit(bone_b of the body) - unit(bone_b of the landmarks)|^2   bone directions
  + prior_weight * Mahalanobis^2 of the body joints (GaussianPosePrior)      plausible twists
  + limit_weight * sum_j (excess over joint j's limits, rad)^2

over 6D joint rotations with torch's Adam, every person of a batch at once, the joints posed by
forward kinematics on the body model's rest skeleton (the body model's own joints, exactly, at
a fraction of a mesh's cost). Directions, not
positions, because BlazePose's and SMPL's skeletons differ in proportions and joint centres;
w_b is the lower visibility of the bone's two landmarks. The root starts where the torso
(hips and shoulders) says, by a rigid Procrustes fit (roma). BlazePose's world landmarks have
the camera's axes (x right, y down, z away from the camera), so the fitted root is in the
camera frame (HMR / SPIN's OpenCV axes); `LandmarkFit` answers in POSE_FRAME (y up, facing the
camera), as every image answer and item set (`posegpt.body.rotations.camera_to_y_up`).
"""

from __future__ import annotations

from collections.abc import Sequence

import roma
import torch
from PIL import Image

from posegpt.body.base import BodyModel
from posegpt.body.kinematics import forward_kinematics
from posegpt.body.rotations import camera_to_y_up, identity_pose, rotmat_to_6d, sixd_to_rotmat
from posegpt.body.skeleton import JOINT_INDEX
from posegpt.errors import InvalidInputError
from posegpt.eval.baselines.base import IMAGE_TASKS, Method
from posegpt.eval.baselines.smplify import GaussianPosePrior
from posegpt.eval.items import Box, TrainData
from posegpt.model.pose_tower.detector import NUM_LANDMARKS, Person, PoseDetector
from posegpt.model.pose_tower.landmarks import LANDMARK_INDEX
from posegpt.synth.plausibility import limit_violation

#: Points both skeletons have: name -> (SMPL joints averaged, BlazePose landmarks averaged).
POINTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "hips": (("left_hip", "right_hip"), ("left_hip", "right_hip")),
    "shoulders": (("left_shoulder", "right_shoulder"), ("left_shoulder", "right_shoulder")),
    "head": (("head",), ("left_ear", "right_ear")),
    **{
        f"{side}_{part}": ((f"{side}_{part}",), (f"{side}_{part}",))
        for side in ("left", "right")
        for part in ("hip", "knee", "ankle", "shoulder", "elbow", "wrist")
    },
    **{f"{side}_foot": ((f"{side}_foot",), (f"{side}_foot_index",)) for side in ("left", "right")},
    **{
        f"{side}_hand": ((f"{side}_hand",), (f"{side}_index", f"{side}_pinky"))
        for side in ("left", "right")
    },
}
#: Bones (from point, to point) whose directions are fitted.
BONES: tuple[tuple[str, str], ...] = (
    ("hips", "shoulders"),
    ("shoulders", "head"),
    ("right_hip", "left_hip"),
    ("right_shoulder", "left_shoulder"),
    *(
        pair
        for side in ("left", "right")
        for pair in (
            (f"{side}_hip", f"{side}_knee"),
            (f"{side}_knee", f"{side}_ankle"),
            (f"{side}_ankle", f"{side}_foot"),
            (f"{side}_shoulder", f"{side}_elbow"),
            (f"{side}_elbow", f"{side}_wrist"),
            (f"{side}_wrist", f"{side}_hand"),
        )
    ),
)
#: Torso points the root's starting rotation is fitted to.
TORSO = ("left_hip", "right_hip", "left_shoulder", "right_shoulder")


def _averaging(names: Sequence[str], side: int, index: dict[str, int]) -> torch.Tensor:
    """(points, len(index)) matrix averaging, for each point, its members on `side` of POINTS
    (0: SMPL joints, 1: BlazePose landmarks)."""
    matrix = torch.zeros(len(names), len(index))
    for row, name in enumerate(names):
        members = POINTS[name][side]
        for member in members:
            matrix[row, index[member]] = 1.0 / len(members)
    return matrix


_NAMES = tuple(POINTS)
_JOINT_POINTS = _averaging(_NAMES, 0, JOINT_INDEX)
_LANDMARK_POINTS = _averaging(_NAMES, 1, LANDMARK_INDEX)
_FROM = [_NAMES.index(a) for a, _ in BONES]
_TO = [_NAMES.index(b) for _, b in BONES]
_TORSO = [_NAMES.index(n) for n in TORSO]


def _bones(points: torch.Tensor) -> torch.Tensor:
    """(B, P, 3) points -> (B, bones, 3) unit bone directions."""
    return torch.nn.functional.normalize(points[:, _TO] - points[:, _FROM], dim=-1)


def landmark_bones(world: torch.Tensor, visibility: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """(B, 33, 3) world landmarks and (B, 33) visibility -> bone directions (B, bones, 3), their
    weights (B, bones) and the torso points (B, 4, 3)."""
    points = _LANDMARK_POINTS @ world
    seen = torch.where(_LANDMARK_POINTS > 0, visibility[:, None, :], torch.inf).amin(-1)
    weight = torch.minimum(seen[:, _FROM], seen[:, _TO])
    return _bones(points), weight, points[:, _TORSO]


def fit_to_landmarks(
    world: torch.Tensor,
    visibility: torch.Tensor,
    body: BodyModel,
    prior: GaussianPosePrior,
    steps: int = 100,
    lr: float = 0.05,
    prior_weight: float = 0.01,
    limit_weight: float = 1.0,
) -> torch.Tensor:
    """Poses (B, 24, 3, 3), root in the camera frame, fitted to world landmarks (B, 33, 3)."""
    world, visibility = world.float(), visibility.float().clamp(0.0, 1.0)
    if (
        world.ndim != 3
        or world.shape[1:] != (NUM_LANDMARKS, 3)
        or visibility.shape != world.shape[:2]
    ):
        raise InvalidInputError(
            f"need (B, 33, 3) landmarks and (B, 33) visibility, got {tuple(world.shape)} and "
            f"{tuple(visibility.shape)}"
        )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: 10x faster on one thread than on contended cores
    try:
        return _fit(world, visibility, body, prior, steps, lr, prior_weight, limit_weight)
    finally:
        torch.set_num_threads(threads)


def _fit(
    world: torch.Tensor,
    visibility: torch.Tensor,
    body: BodyModel,
    prior: GaussianPosePrior,
    steps: int,
    lr: float,
    prior_weight: float,
    limit_weight: float,
) -> torch.Tensor:
    target, weight, torso = landmark_bones(world, visibility)
    start = prior.mean_pose().expand(len(world), -1, -1, -1).clone()
    with torch.no_grad():
        j_rest = body(identity_pose(1)).joints.expand(len(world), -1, -1)
        rest = (_JOINT_POINTS @ forward_kinematics(start, j_rest)[1])[:, _TORSO]
        turn, _ = roma.rigid_points_registration(
            rest - rest.mean(1, True), torso - torso.mean(1, True)
        )
        start[:, 0] = turn @ start[:, 0]
    sixd = rotmat_to_6d(start).clone().requires_grad_(True)
    optimizer = torch.optim.Adam([sixd], lr=lr)
    for _ in range(steps):
        rotmat = sixd_to_rotmat(sixd)
        bones = _bones(_JOINT_POINTS @ forward_kinematics(rotmat, j_rest)[1])
        energy = (weight * (bones - target).pow(2).sum(-1)).sum(-1)
        energy = energy + prior_weight * prior.energy(rotmat)
        energy = energy + limit_weight * torch.deg2rad(limit_violation(rotmat)).pow(2).sum(-1)
        optimizer.zero_grad()
        energy.sum().backward()
        optimizer.step()
    return sixd_to_rotmat(sixd.detach())


def largest_person(people: Sequence[Person]) -> Person | None:
    """The first (largest) detection, or None when nobody was found."""
    return people[0] if people else None


class LandmarkFit(Method):
    """BlazePose (bundled, frozen) on the picture, then `fit_to_landmarks` on the largest person
    found; the prior's mean pose where nobody is found (`misses` counts them). On RPE it reads
    the whole picture and takes the largest detection (no oracle, description ignored)."""

    name = "BlazePose fit"
    tasks = IMAGE_TASKS

    def __init__(self, body: BodyModel, steps: int = 100) -> None:
        self.body = body
        self.steps = steps
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
            self.detector = PoseDetector()
        found = [largest_person(self.detector.detect(image)) for image in images]
        poses = self.prior.mean_pose().expand(len(images), -1, -1, -1).clone()
        rows = [i for i, p in enumerate(found) if p is not None]
        self.misses += len(images) - len(rows)
        if rows:
            world = torch.stack([torch.from_numpy(found[i].world) for i in rows])
            visibility = torch.stack([torch.from_numpy(found[i].landmarks[:, 2]) for i in rows])
            fitted = fit_to_landmarks(world, visibility, self.body, self.prior, self.steps)
            poses[rows] = fitted
        return camera_to_y_up(poses)  # camera frame -> POSE_FRAME, as the item sets
