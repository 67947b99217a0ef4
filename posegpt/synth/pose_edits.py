"""Pose edits: instructions that change a pose, the geometry that carries them out, and the
predicates that check a pose follows them.

An `Edit` turns a pose (24, 3, 3) into the edited pose by setting joint angles in the pose
families' authoring conventions (`posegpt.synth.pose_families`: knee flexion, elbow bend, shoulder
elevation...), by mirroring, or, for posture changes ("Now sit down."), by taking the legs,
root and spine of a pose of the target family while keeping the arms and head. Each edit
knows when it applies (bending a fully bent knee does not), which joints it may change, and
its predicate on the posecodes before and after, so that any pose (a model's answer too) can
be checked: it follows the instruction, and the joints the instruction did not mention keep
their rotations (`follows`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import roma
import torch

from posegpt.body.posecodes import HAND_LEVEL
from posegpt.body.rotations import flip_pose, geodesic_distance
from posegpt.body.skeleton import JOINT_INDEX, JOINT_NAMES, SIDES
from posegpt.errors import InvalidInputError
from posegpt.synth.poses import PoseSource, _authoring_conventions

#: Mean rotation change (radians) the unmentioned joints may show and still count as kept.
KEEP_TOLERANCE = 0.25
#: Joints a posture change replaces (legs, root, spine); arms and head are kept.
POSTURE_JOINTS = ("pelvis", "spine1", "spine2", "spine3") + tuple(
    f"{s}_{j}" for s in SIDES for j in ("hip", "knee", "ankle", "foot")
)
ARM_JOINTS = ("collar", "shoulder", "elbow", "wrist", "hand")
#: The right side's joints are written with left-side signs (families.py); this flips them.
_MIRROR = torch.tensor([[1.0, -1.0, -1.0], [-1.0, 1.0, 1.0], [-1.0, 1.0, 1.0]])

Codes = dict
Check = Callable[[Codes, Codes], bool]


def _convention(name: str) -> str:
    index = JOINT_INDEX[name]
    return next(c for c, idx in _authoring_conventions() if index in idx.tolist())


def joint_angles(rotmat: torch.Tensor, name: str) -> np.ndarray:
    """Joint `name`'s three authoring angles (degrees, left-side signs) in pose (24, 3, 3)."""
    r = rotmat[JOINT_INDEX[name]].double()
    if name.startswith("right_"):
        r = r * _MIRROR.double()
    return roma.rotmat_to_euler(_convention(name), r, degrees=True).numpy()


def with_joint_angles(rotmat: torch.Tensor, name: str, angles: Sequence[float]) -> torch.Tensor:
    """A copy of `rotmat` whose joint `name` has these authoring angles (inverse of
    `joint_angles`)."""
    r = roma.euler_to_rotmat(
        _convention(name), torch.tensor(angles, dtype=torch.float64), degrees=True
    )
    if name.startswith("right_"):
        r = r * _MIRROR.double()
    out = rotmat.clone()
    out[JOINT_INDEX[name]] = r.to(rotmat.dtype)
    return out


@dataclass(frozen=True)
class Edit:
    """One kind of edit. `texts` word it ("{side}" is filled for sided edits); `applies`
    tells from the pose's codes whether it makes sense; `check` whether codes after the edit
    follow it; `joints` are the joints it may change (None: all)."""

    name: str
    texts: tuple[str, ...]
    apply: Callable[[torch.Tensor, str | None, np.random.Generator, PoseSource], torch.Tensor]
    applies: Callable[[Codes, str | None], bool]
    check: Callable[[Codes, Codes, str | None], bool]
    joints: Callable[[str | None], tuple[str, ...] | None]
    sided: bool = True
    family: str | None = None  # the target family of a posture change

    def text(self, side: str | None, rng: np.random.Generator) -> str:
        return self.texts[int(rng.integers(len(self.texts)))].format(side=side)


# -- the geometry ---------------------------------------------------------------------------


def _set(name_angles: Callable[[np.ndarray, np.random.Generator], Sequence[float]], joint: str):
    """An edit function setting `{side}_joint` from its current angles."""

    def apply(rotmat, side, rng, source):
        name = f"{side}_{joint}"
        return with_joint_angles(rotmat, name, name_angles(joint_angles(rotmat, name), rng))

    return apply


def _raise_arm(rotmat, side, rng, source):
    out = with_joint_angles(rotmat, f"{side}_collar", (rng.uniform(10, 20), 0, 0))
    out = with_joint_angles(out, f"{side}_shoulder", (0, rng.uniform(68, 80), rng.uniform(-20, -5)))
    return with_joint_angles(out, f"{side}_elbow", (rng.uniform(-15, 0), 0, 0))


def _lower_arm(rotmat, side, rng, source):
    out = with_joint_angles(rotmat, f"{side}_collar", (0, 0, 0))
    out = with_joint_angles(out, f"{side}_shoulder", (rng.uniform(0, 15), rng.uniform(-82, -72), 0))
    return with_joint_angles(out, f"{side}_elbow", (rng.uniform(-20, -5), 0, 0))


def _mirror(rotmat, side, rng, source):
    return flip_pose(rotmat[None])[0]


def _posture(family: str):
    """Legs, root and spine of a pose of `family`; the arms and head stay."""

    def apply(rotmat, side, rng, source):
        target = source.sample(family).rotmat
        out = rotmat.clone()
        for name in POSTURE_JOINTS:
            out[JOINT_INDEX[name]] = target[JOINT_INDEX[name]]
        return out

    return apply


# -- the predicates -------------------------------------------------------------------------


def _level(codes: Codes, side: str) -> int:
    return HAND_LEVEL.index(codes[f"{side}_hand_level"])


def _mirrored(before: Codes, after: Codes, side: str | None) -> bool:
    """Each side's bends now are the other side's before, and the hands' levels swapped."""
    for a, b in (("left", "right"), ("right", "left")):
        for part in ("knee_angle", "elbow_angle"):
            if abs(after[f"{a}_{part}"] - before[f"{b}_{part}"]) > 15.0:
                return False
        if abs(_level(after, a) - _level(before, b)) > 1:
            return False
    return True


def _asymmetric(codes: Codes, side: str | None) -> bool:
    """Mirroring changes something visible: the sides' bends or hand levels differ."""
    return (
        abs(codes["left_knee_angle"] - codes["right_knee_angle"]) > 30
        or abs(codes["left_elbow_angle"] - codes["right_elbow_angle"]) > 40
        or abs(_level(codes, "left") - _level(codes, "right")) >= 2
    )


def _sided(joints: Sequence[str]) -> Callable[[str | None], tuple[str, ...]]:
    return lambda side: tuple(f"{side}_{j}" for j in joints)


EDITS: tuple[Edit, ...] = (
    Edit(
        "bend_knee",
        (
            "Bend the {side} knee more.",
            "Bend your {side} knee more.",
            "More bend in the {side} knee.",
        ),
        _set(lambda a, rng: (a[0], a[1], min(a[2] + rng.uniform(45, 60), 130.0)), "knee"),
        lambda c, s: c[f"{s}_knee_angle"] < 60,
        lambda b, a, s: a[f"{s}_knee_angle"] > b[f"{s}_knee_angle"] + 25,
        _sided(("knee",)),
    ),
    Edit(
        "straighten_knee",
        (
            "Straighten the {side} leg.",
            "Straighten your {side} knee.",
            "Make the {side} leg straight.",
        ),
        _set(lambda a, rng: (a[0], a[1], rng.uniform(0, 8)), "knee"),
        lambda c, s: c[f"{s}_knee_angle"] > 60,
        lambda b, a, s: a[f"{s}_knee_angle"] < min(30.0, b[f"{s}_knee_angle"] - 25),
        _sided(("knee",)),
    ),
    Edit(
        "bend_elbow",
        (
            "Bend the {side} elbow.",
            "Bend your {side} arm at the elbow.",
            "Bend the {side} elbow more.",
        ),
        _set(lambda a, rng: (max(a[0] - rng.uniform(60, 80), -140.0), a[1], a[2]), "elbow"),
        lambda c, s: c[f"{s}_elbow_angle"] < 50,
        lambda b, a, s: a[f"{s}_elbow_angle"] > b[f"{s}_elbow_angle"] + 30,
        _sided(("elbow",)),
    ),
    Edit(
        "straighten_elbow",
        (
            "Straighten the {side} arm.",
            "Straighten your {side} elbow.",
            "Stretch the {side} arm out straight.",
        ),
        _set(lambda a, rng: (rng.uniform(-8, 0), a[1], a[2]), "elbow"),
        lambda c, s: c[f"{s}_elbow_angle"] > 60,
        lambda b, a, s: a[f"{s}_elbow_angle"] < min(35.0, b[f"{s}_elbow_angle"] - 25),
        _sided(("elbow",)),
    ),
    Edit(
        "raise_arm",
        (
            "Raise the {side} arm above the head.",
            "Now raise the {side} arm too.",
            "Lift your {side} hand above your head.",
        ),
        _raise_arm,
        lambda c, s: (
            _level(c, s) <= HAND_LEVEL.index("at shoulder height")
            and c["posture"] in ("standing", "sitting", "squatting", "kneeling", "lunging")
        ),
        lambda b, a, s: a[f"{s}_hand_level"] == "above the head",
        _sided(("collar", "shoulder", "elbow")),
    ),
    Edit(
        "lower_arm",
        ("Lower the {side} arm.", "Put the {side} arm down.", "Let the {side} arm hang down."),
        _lower_arm,
        lambda c, s: _level(c, s) >= HAND_LEVEL.index("at chest height"),
        lambda b, a, s: _level(a, s) <= HAND_LEVEL.index("at waist height"),
        _sided(("collar", "shoulder", "elbow")),
    ),
    Edit(
        "mirror",
        ("Same, but mirrored.", "Mirror the pose.", "Now the same with the other side."),
        _mirror,
        _asymmetric,
        _mirrored,
        lambda side: None,
        sided=False,
    ),
    Edit(
        "sit",
        ("Now sit down.", "Sit down on a chair.", "Make the person sit down."),
        _posture("sitting_chair"),
        lambda c, s: c["posture"] == "standing",
        lambda b, a, s: a["posture"] == "sitting",
        lambda side: POSTURE_JOINTS,
        sided=False,
        family="sitting_chair",
    ),
    Edit(
        "squat",
        ("Now squat down.", "Squat down low.", "Make the person squat."),
        _posture("squatting"),
        lambda c, s: c["posture"] in ("standing", "sitting"),
        lambda b, a, s: a["posture"] == "squatting",
        lambda side: POSTURE_JOINTS,
        sided=False,
        family="squatting",
    ),
    Edit(
        "stand",
        ("Now stand up.", "Stand up straight.", "Make the person stand up."),
        _posture("standing_relaxed"),
        lambda c, s: c["posture"] in ("sitting", "squatting", "kneeling", "kneeling on one knee"),
        lambda b, a, s: a["posture"] == "standing",
        lambda side: POSTURE_JOINTS,
        sided=False,
        family="standing_relaxed",
    ),
)
EDIT_INFO = {e.name: e for e in EDITS}


@dataclass(frozen=True)
class Step:
    """One edit as applied: its kind, side (None if unsided) and wording."""

    edit: str
    side: str | None
    text: str


def applicable(codes: Codes) -> list[tuple[str, str | None]]:
    """The (edit, side) pairs that make sense for a pose with these codes."""
    out = []
    for edit in EDITS:
        for side in SIDES if edit.sided else (None,):
            if edit.applies(codes, side):
                out.append((edit.name, side))
    return out


def draw_step(codes: Codes, rng: np.random.Generator) -> Step | None:
    """A random applicable edit for a pose with these codes (None if none applies)."""
    options = applicable(codes)
    if not options:
        return None
    name, side = options[int(rng.integers(len(options)))]
    return Step(name, side, EDIT_INFO[name].text(side, rng))


def apply_step(
    rotmat: torch.Tensor, step: Step, rng: np.random.Generator, source: PoseSource
) -> torch.Tensor:
    """The pose (24, 3, 3) after `step`."""
    if step.edit not in EDIT_INFO:
        raise InvalidInputError(f"unknown edit {step.edit!r}; valid: {', '.join(EDIT_INFO)}")
    return EDIT_INFO[step.edit].apply(rotmat, step.side, rng, source)


def kept(before: torch.Tensor, after: torch.Tensor, step: Step) -> bool:
    """Whether the joints `step` does not mention kept their rotations (mean geodesic
    distance at most KEEP_TOLERANCE)."""
    touched = EDIT_INFO[step.edit].joints(step.side)
    if touched is None:
        return True
    others = [j for j, n in enumerate(JOINT_NAMES) if n not in touched]
    return float(geodesic_distance(before[others], after[others]).mean()) <= KEEP_TOLERANCE


def follows(
    before: torch.Tensor, after: torch.Tensor, codes_before: Codes, codes_after: Codes, step: Step
) -> bool:
    """Whether pose `after` carries out `step` on pose `before`: the edit's predicate holds on
    their codes and the joints it does not mention are kept."""
    edit = EDIT_INFO[step.edit]
    return edit.check(codes_before, codes_after, step.side) and kept(before, after, step)


def difference_text(steps: Sequence[Step]) -> str:
    """The difference between a pose and its edited version, in words: the instructions."""
    if not steps:
        raise InvalidInputError("a difference needs at least one edit")
    parts = [s.text.rstrip(".") for s in steps]
    first = parts[0][0].lower() + parts[0][1:]
    rest = [p[0].lower() + p[1:] for p in parts[1:]]
    return "From the first pose to the second: " + ", then ".join([first, *rest]) + "."
