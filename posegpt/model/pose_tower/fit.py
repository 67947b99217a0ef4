"""SMPL rotations fitted to BlazePose world landmarks, and the refinement of answered poses.

`fit_to_landmarks` poses the body so that its bones point where BlazePose's do:

    sum_b w_b |unit(bone_b of the body) - unit(bone_b of the landmarks)|^2   bone directions
  + penalty(pose)                                 a prior, or the pull to a starting pose
  + limit_weight * sum_j (excess over joint j's limits, rad)^2

over 6D joint rotations with torch's Adam, every person of a batch at once, the joints posed by
forward kinematics on the body model's rest skeleton (its own joints, exactly, at a fraction of
a mesh's cost). Directions, not positions, because BlazePose's and SMPL's skeletons differ in
proportions and joint centres; w_b is the lower visibility of the bone's two landmarks.
BlazePose's world landmarks have the camera's axes (x right, y down, z away from the camera),
so fitted roots are in the camera frame (HMR / SPIN's OpenCV axes).

`refine_to_people` is how the model's answers about a photo use it: each answered pose
(POSE_FRAME) starts a fit to the person in the picture whose landmarks it matches best, pulled
towards the answer by `anchored`, so the landmarks correct what they see and the answer keeps
what they do not (hidden limbs, twists); or it is averaged with a fit from a pose prior
(`fit_with_prior`, as the BlazePose fit baseline), the fit's share falling with how little the
landmarks see of a limb ("blend"). `best_match_energy` says how well an answer matches
anyone at all: an answer far from everyone (`UNMATCHED_ENERGY`) is about nobody there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import roma
import torch

from posegpt.body.base import BodyModel
from posegpt.body.kinematics import forward_kinematics
from posegpt.body.limits import limit_violation
from posegpt.body.prior import GaussianPosePrior
from posegpt.body.rotations import camera_to_y_up, identity_pose, rotmat_to_6d, sixd_to_rotmat
from posegpt.body.skeleton import ANNY_REST_JOINTS, JOINT_INDEX, JOINT_NAMES
from posegpt.errors import InvalidInputError
from posegpt.model.pose_tower.detector import NUM_LANDMARKS
from posegpt.model.pose_tower.features import IMAGE_PART, USED, WORLD_PART, nobody
from posegpt.model.pose_tower.landmarks import LANDMARK_INDEX

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
#: Torso points a starting root is turned to.
TORSO = ("left_hip", "right_hip", "left_shoulder", "right_shoulder")
#: Pull of a refined answer towards the answer (`anchored`): of 0, 0.1, 0.3, 1 and 3, the best on
#: crops of people posed off-template (the real photos' stand-in) among those costing synthetic
#: val crops at most 1 mm against the answer (BENCHMARKS.md, "The refinement's pull").
ANCHOR_WEIGHT = 1.0
#: Weight of the pose prior's Mahalanobis energy in a fit from the prior (`fit_with_prior`).
PRIOR_WEIGHT = 0.01
#: Share of the fit in a blended answer (`refine_to_people`'s "blend") for a limb the landmarks
#: see fully and for the torso: the plain mean. Weighting limbs by their visibility (unseen
#: limbs keep the answer) won over a fixed 0.5 on off-template and partial crops (BENCHMARKS.md,
#: "Photo answers blended with the BlazePose fit").
BLEND_WEIGHT = 0.5
#: What `refine_to_people` may do: turn the root only, fit the whole pose, fit it when the
#: picture holds one person and turn the root only when it holds several ("auto"), average
#: the turned answer with a fit from the pose prior ("blend"), or blend it when the picture
#: holds one person and turn the root only when it holds several ("auto-blend").
REFINE_MODES = ("orient", "fit", "auto", "blend", "auto-blend")
#: The modes that need the model's pose prior.
PRIOR_MODES = ("blend", "auto-blend")
#: The modes that depend on how many people the picture holds: their mode for one person.
_ALONE = {"auto": "fit", "auto-blend": "blend"}
#: A function of poses (B, 24, 3, 3) -> (B,) energies added to the fit's.
Penalty = Callable[[torch.Tensor], torch.Tensor]


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
#: Each limb joint (SMPL) -> the point its bone (of BONES) leads to.
_LIMB_CHILD = {
    f"{side}_{joint}": f"{side}_{child}"
    for side in ("left", "right")
    for joint, child in (
        ("hip", "knee"),
        ("knee", "ankle"),
        ("ankle", "foot"),
        ("shoulder", "elbow"),
        ("elbow", "wrist"),
        ("wrist", "hand"),
    )
}
#: For each SMPL joint, the index in BONES of the bone it moves if it is a limb joint, else -1.
_MOVED_BONE = torch.tensor(
    [BONES.index((j, _LIMB_CHILD[j])) if j in _LIMB_CHILD else -1 for j in JOINT_NAMES]
)


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


def _posed_points(rotmat: torch.Tensor, rest: torch.Tensor) -> torch.Tensor:
    """(B, 24, 3, 3) poses on rest joints (1, 24, 3) -> (B, points, 3) of POINTS."""
    return _JOINT_POINTS @ forward_kinematics(rotmat, rest.expand(len(rotmat), -1, -1))[1]


def bone_energy(
    rotmat: torch.Tensor, rest: torch.Tensor, world: torch.Tensor, visibility: torch.Tensor
) -> torch.Tensor:
    """(B,) visibility-weighted squared differences of the bone directions of poses (B, 24, 3, 3)
    (root in the camera frame) and of landmarks (B, 33, 3)."""
    target, weight, _ = landmark_bones(world, visibility)
    return _bone_energy(rotmat, rest, target, weight)


def _bone_energy(
    rotmat: torch.Tensor, rest: torch.Tensor, target: torch.Tensor, weight: torch.Tensor
) -> torch.Tensor:
    """`bone_energy` against landmark bone directions `target` (B, bones, 3) and `weight`."""
    bones = _bones(_posed_points(rotmat, rest))
    return (weight * (bones - target).pow(2).sum(-1)).sum(-1)


def anchored(start: torch.Tensor, weight: float = ANCHOR_WEIGHT) -> Penalty:
    """A penalty pulling the body joints (1-23) of a fit towards poses `start` (B, 24, 3, 3):
    `weight` times the summed squared Frobenius distances."""
    body = start[:, 1:].detach()
    return lambda rotmat: weight * (rotmat[:, 1:] - body).pow(2).sum((-1, -2, -3))


def fit_to_landmarks(
    world: torch.Tensor,
    visibility: torch.Tensor,
    body: BodyModel,
    start: torch.Tensor,
    penalty: Penalty | None = None,
    steps: int = 100,
    lr: float = 0.05,
    limit_weight: float = 1.0,
    turn_root: bool = True,
) -> torch.Tensor:
    """Poses (B, 24, 3, 3), root in the camera frame, fitted to world landmarks (B, 33, 3) with
    visibility (B, 33) from `start` poses (B, 24, 3, 3, camera frame). With `turn_root` the
    starting root is first turned so that the start's torso lies along the landmarks' (a rigid
    Procrustes fit, roma)."""
    world, visibility = world.float(), visibility.float().clamp(0.0, 1.0)
    if (
        world.ndim != 3
        or world.shape[1:] != (NUM_LANDMARKS, 3)
        or visibility.shape != world.shape[:2]
        or start.shape != (len(world), 24, 3, 3)
    ):
        raise InvalidInputError(
            f"need (B, 33, 3) landmarks, (B, 33) visibility and (B, 24, 3, 3) starting poses, "
            f"got {tuple(world.shape)}, {tuple(visibility.shape)} and {tuple(start.shape)}"
        )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: 10x faster on one thread than on contended cores
    try:  # gradients even under no_grad or inference mode (`PoseGPT.chat` runs in the latter)
        with torch.inference_mode(False), torch.enable_grad():
            return _fit(
                world.clone(),
                visibility.clone(),
                body,
                start.float().clone(),
                penalty,
                steps,
                lr,
                limit_weight,
                turn_root,
            )
    finally:
        torch.set_num_threads(threads)


def _fit(
    world: torch.Tensor,
    visibility: torch.Tensor,
    body: BodyModel,
    start: torch.Tensor,
    penalty: Penalty | None,
    steps: int,
    lr: float,
    limit_weight: float,
    turn_root: bool,
) -> torch.Tensor:
    rest = body(identity_pose(1)).joints.detach().clone()
    target, weight, torso = landmark_bones(world, visibility)  # once, not per step
    if turn_root:
        start = _turned_to_torso(start, rest, torso)
    sixd = rotmat_to_6d(start).clone().requires_grad_(True)
    optimizer = torch.optim.Adam([sixd], lr=lr)
    for _ in range(steps):
        rotmat = sixd_to_rotmat(sixd)
        energy = _bone_energy(rotmat, rest, target, weight)
        if penalty is not None:
            energy = energy + penalty(rotmat)
        energy = energy + limit_weight * torch.deg2rad(limit_violation(rotmat)).pow(2).sum(-1)
        optimizer.zero_grad()
        energy.sum().backward()
        optimizer.step()
    return sixd_to_rotmat(sixd.detach())


def _turned_to_torso(start: torch.Tensor, rest: torch.Tensor, torso: torch.Tensor) -> torch.Tensor:
    """`start` poses with their roots turned so that their torsos lie along the landmarks' torso
    points (B, 4, 3) (`landmark_bones`)."""
    with torch.no_grad():
        ours = _posed_points(start, rest)[:, _TORSO]
        turn, _ = roma.rigid_points_registration(
            ours - ours.mean(1, True), torso - torso.mean(1, True)
        )
    out = start.clone()
    out[:, 0] = turn @ start[:, 0]
    return out


def fit_with_prior(
    world: torch.Tensor,
    visibility: torch.Tensor,
    body: BodyModel,
    prior: GaussianPosePrior,
    steps: int = 100,
) -> torch.Tensor:
    """Poses (B, 24, 3, 3), root in the camera frame, fitted to world landmarks (B, 33, 3) from
    the prior's mean pose, with the prior as penalty."""
    start = prior.mean_pose().expand(len(world), -1, -1, -1)
    return fit_to_landmarks(
        world, visibility, body, start, lambda r: PRIOR_WEIGHT * prior.energy(r), steps
    )


def blended(answer: torch.Tensor, fitted: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Poses (B, 24, 3, 3): per joint the 6D mean of `answer` and `fitted`, `weight` (B, 24)
    on the fit, back on the rotations."""
    share = weight[..., None].to(answer)
    return sixd_to_rotmat((1 - share) * rotmat_to_6d(answer) + share * rotmat_to_6d(fitted))


def seen_share(bone_weight: torch.Tensor) -> torch.Tensor:
    """(B, 24) for the bone weights (B, bones) of `landmark_bones`: per limb joint, the weight
    of the bone it moves, 1 for the other joints."""
    limb = _MOVED_BONE >= 0
    share = torch.ones(len(bone_weight), len(JOINT_NAMES))
    share[:, limb] = bone_weight[:, _MOVED_BONE[limb]]
    return share


def check_refine_mode(mode: object) -> str:
    """`mode` if it is one of REFINE_MODES, else a clear error."""
    if mode not in REFINE_MODES:
        raise InvalidInputError(f"refine must be one of {', '.join(REFINE_MODES)}, got {mode!r}")
    return mode


#: Bone energy (`bone_energy`) above which an answered pose matches nobody in the picture.
#: Chosen on the val split with the default model, together with the share of a refusal's first
#: words (`posegpt.model.refusal.REFUSAL_SHARE`) that `PoseGPT.chat` also asks for. Declining
#: above it alone, 56% of the requests about someone not in the picture get no pose, 14.8% of
#: those about someone who is there and 8% of person crops; with the share as well, 47%, 4.8%
#: and 4% (without a check, 21%, 1.8% and 4%: the model's own refusals; BENCHMARKS.md).
UNMATCHED_ENERGY = 12.0


def _people(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """World landmarks (P, 33, 3) and visibility (P, 33) of the people in one picture's pose
    tower features (slots, FEATURE_DIM)."""
    people = features[features[:, USED] > 0].float()
    world = people[:, WORLD_PART].reshape(-1, NUM_LANDMARKS, 3)
    return world, people[:, IMAGE_PART].reshape(-1, NUM_LANDMARKS, 3)[..., 2]


def _energies(
    start: torch.Tensor, rest: torch.Tensor, world: torch.Tensor, visibility: torch.Tensor
) -> torch.Tensor:
    """(N, P) bone energies of poses (N, 24, 3, 3, camera frame) against P people."""
    with torch.no_grad():
        pairs = start.repeat_interleave(len(world), 0)
        tiled = world.repeat(len(start), 1, 1), visibility.repeat(len(start), 1)
        return bone_energy(pairs, rest, *tiled).view(len(start), len(world))


def _answer_energies(poses: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    """(N, P) bone energies of answered poses (N, 24, 3, 3, POSE_FRAME) against the P people of
    one picture's pose tower features (slots, FEATURE_DIM), on anny's rest skeleton."""
    world, visibility = _people(features)
    rest = torch.tensor(ANNY_REST_JOINTS)[None]
    return _energies(camera_to_y_up(poses.float()), rest, world, visibility)


def best_match_energy(poses: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    """(N,) the bone energy of each answered pose (N, 24, 3, 3, POSE_FRAME) against the person
    of one picture's pose tower features (slots, FEATURE_DIM) it matches best (on anny's rest
    skeleton); inf for a picture of nobody."""
    if nobody(features):
        return torch.full((len(poses),), torch.inf)
    return _answer_energies(poses, features).amin(1)


def best_match(poses: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    """(N,) the slot of the person in one picture's pose tower features (slots, FEATURE_DIM)
    whose bones each answered pose (N, 24, 3, 3, POSE_FRAME) matches best; -1 for nobody."""
    if nobody(features):
        return torch.full((len(poses),), -1)
    slots = (features[:, USED] > 0).nonzero()[:, 0]
    return slots[_answer_energies(poses, features).argmin(1)]


def matches_nobody(poses: torch.Tensor, features: torch.Tensor) -> bool:
    """Whether every answered pose (POSE_FRAME) is far from everyone in a picture's tower
    features: `best_match_energy` above `UNMATCHED_ENERGY`."""
    return bool((best_match_energy(poses, features.cpu()) > UNMATCHED_ENERGY).all())


def refine_to_people(
    poses: torch.Tensor,
    features: torch.Tensor,
    body: BodyModel,
    mode: str = "fit",
    anchor_weight: float = ANCHOR_WEIGHT,
    steps: int = 100,
    prior: GaussianPosePrior | None = None,
) -> torch.Tensor:
    """Answered poses (N, 24, 3, 3, POSE_FRAME) refined to the people of one picture's pose
    tower features (slots, FEATURE_DIM), each to the person whose bones its own match best
    (`bone_energy`); unchanged when the picture holds nobody. `mode` "fit": the anchored fit;
    "orient": only the root turned so that the torso lies along the person's (a rigid fit),
    the body joints kept (the pose's shape, and so its PA-MPJPE, unchanged); "auto": "fit" for
    a picture of one person, "orient" for several (where a fit may pull the answer towards
    someone else); "blend": the answer, turned as by "orient", averaged per joint with the fit
    from `prior` (`fit_with_prior`), BLEND_WEIGHT on the fit, times the visibility of the bone
    a limb joint moves (`seen_share`); "auto-blend": "blend" for one person, "orient" for
    several."""
    check_refine_mode(mode)
    if mode in PRIOR_MODES and prior is None:
        raise InvalidInputError(
            "blending photo answers with the BlazePose fit needs the model's pose prior "
            "(add one with `posegpt fit-prior`)"
        )
    world, visibility = _people(features)
    if not len(poses) or not len(world):
        return poses
    if mode in _ALONE:
        mode = _ALONE[mode] if len(world) == 1 else "orient"
    with torch.inference_mode(False):  # a plain tensor, usable by the fit's autograd
        start = camera_to_y_up(poses.float())  # POSE_FRAME -> camera frame (its own inverse)
    with torch.no_grad():
        rest = body(identity_pose(1)).joints
    best = _energies(start, rest, world, visibility).argmin(1)
    world, visibility = world[best], visibility[best]
    if mode == "fit":
        pull = anchored(start, anchor_weight)
        fitted = fit_to_landmarks(
            world, visibility, body, start, pull, steps, lr=0.02, turn_root=False
        )
        return camera_to_y_up(fitted).to(poses.dtype)
    _, bone_weight, torso = landmark_bones(world, visibility)
    turned = _turned_to_torso(start, rest, torso)  # a rigid turn: the body joints stay exactly
    if mode == "blend":
        share = BLEND_WEIGHT * seen_share(bone_weight)
        turned = blended(turned, fit_with_prior(world, visibility, body, prior, steps), share)
    return camera_to_y_up(turned).to(poses.dtype)
