"""Posecodes: simple, checkable facts about a pose, read from its 24 joints.

In the spirit of PoseScript's posecodes, written anew. Joints are first expressed in the
body's own frame: the global turn about the vertical (yaw) is removed, so +z is the way the
pelvis faces, +x the subject's left and +y up, while the incline (lying, bending) is kept.
Where the body lies down, arm and leg relations are read along the body instead (the
pelvis's own frame), so that "above the head" means beyond the head.

`posecodes(joints)` returns a flat dict with stable names; `facts(codes)` turns it into
question/answer pairs. Sided codes are named `left_*` / `right_*` after the SUBJECT's side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import roma
import torch

from posegpt.body.skeleton import JOINT_INDEX, NUM_JOINTS, SIDES
from posegpt.errors import InvalidInputError

#: Categories, in order where they have one (neutral standing values: `NEUTRAL`).
BEND = ("straight", "slightly bent", "bent", "fully bent")
HAND_LEVEL = (
    "down",
    "at waist height",
    "at chest height",
    "at shoulder height",
    "at head height",
    "above the head",
)
HAND_FORWARD = ("behind the body", "beside the body", "in front", "far forward")
HAND_OUT = ("across the body", "close to the body", "out to the side")
HAND_NEAR = ("nothing", "face", "ear", "head", "chest", "hip", "knee", "foot")
HANDS = ("together", "close", "apart", "wide apart")
FEET = ("together", "apart", "wide apart")
TRUNK_LEAN = ("leaning back", "upright", "leaning forward", "bent forward")
HEAD_PITCH = ("tilted back", "level", "bowed")
TURN = ("left", "none", "right")  # side leans, twists, head turns: towards the subject's side
POSTURES = (
    "standing",
    "standing on one leg",
    "lunging",
    "sitting",
    "squatting",
    "kneeling on one knee",
    "kneeling",
    "on all fours",
    "sitting on the floor",
    "bending forward",
    "propped up face down",
    "lying on the back",
    "lying on the front",
    "lying on the side",
    "upside down",
)

#: The values of the neutral standing pose (arms hanging, legs straight), by code kind
#: (sided codes without their `left_` / `right_` prefix).
NEUTRAL: dict[str, str | bool] = {
    "posture": "standing",
    "elbow": "straight",
    "knee": "straight",
    "hand_level": "down",
    "hand_forward": "beside the body",
    "hand_out": "close to the body",
    "hand_near": "nothing",
    "hand_on_ground": False,
    "knee_raised": False,
    "hands": "apart",
    "feet": "apart",
    "front_foot": "none",
    "trunk_lean": "upright",
    "trunk_side": "none",
    "trunk_twist": "none",
    "head_pitch": "level",
    "head_tilt": "none",
    "head_turn": "none",
}
#: Code kinds whose categories are ordered (distance from neutral = difference of index).
ORDERED: dict[str, tuple[str, ...]] = {
    "elbow": BEND,
    "knee": BEND,
    "hand_level": HAND_LEVEL,
    "hand_forward": HAND_FORWARD,
    "hands": HANDS,
    "feet": FEET,
    "trunk_lean": TRUNK_LEAN,
    "head_pitch": HEAD_PITCH,
}

#: Thresholds: bend categories start at these flexion angles (degrees, 0 = straight).
ELBOW_BENDS = (30.0, 70.0, 120.0)
KNEE_BENDS = (25.0, 65.0, 115.0)
#: Height (m) above the lowest joint under which a part touches the ground.
CONTACT = {"foot": 0.08, "knee": 0.12, "hand": 0.10, "buttocks": 0.24, "back": 0.16}

#: Height (m) above the lowest joint from which a foot counts as lifted off the ground.
RAISED_FOOT = 0.15
#: Thighs within this many degrees of the trunk's line: the hips are straight (`_hip_bend`).
STRAIGHT_HIPS = 35.0
#: Thighs within this many degrees of the trunk's line with the pelvis low and facing the floor:
#: lying on the front, the chest maybe raised (not crouching or folded over the knees).
OPEN_HIPS = 65.0
#: Height (m) above the lowest joint under which a pelvis facing the floor is lying on it.
PRONE_PELVIS = 0.35
#: Height (m) above the lowest joint under which a pelvis cannot be standing: the body sits on
#: something low (a rowing seat, a step) that posecodes do not see.
STANDING_PELVIS = 0.5

_J = JOINT_INDEX


def _n(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm(dim=-1, keepdim=True).clamp(min=1e-9)


def _frame(x_from: torch.Tensor, up_from: torch.Tensor) -> torch.Tensor:
    """(B, 3, 3) rotation whose columns are the left, up and forward axes."""
    x = _n(x_from)
    y = _n(up_from - (up_from * x).sum(-1, keepdim=True) * x)
    return torch.stack([x, y, torch.linalg.cross(x, y)], dim=-1)


def pelvis_frame(joints: torch.Tensor) -> torch.Tensor:
    """(B, 24, 3) -> (B, 3, 3): the pelvis orientation read from the hips and spine1."""
    return _frame(
        joints[:, _J["left_hip"]] - joints[:, _J["right_hip"]],
        joints[:, _J["spine1"]] - joints[:, _J["pelvis"]],
    )


def chest_frame(joints: torch.Tensor) -> torch.Tensor:
    """(B, 24, 3) -> (B, 3, 3): the upper chest's orientation (collars and neck)."""
    return _frame(
        joints[:, _J["left_collar"]] - joints[:, _J["right_collar"]],
        joints[:, _J["neck"]] - joints[:, _J["spine3"]],
    )


def heading(joints: torch.Tensor) -> torch.Tensor:
    """(B, 24, 3) -> (B,) yaw in radians: the pelvis's turn about the vertical."""
    q = roma.rotmat_to_unitquat(pelvis_frame(joints))  # (x, y, z, w)
    return 2 * torch.atan2(q[:, 1], q[:, 3])


def body_frame_joints(joints: torch.Tensor) -> torch.Tensor:
    """(B, 24, 3) joints -> the same, pelvis at the origin and the heading removed."""
    yaw = heading(joints)
    turn = roma.rotvec_to_rotmat(torch.stack([0 * yaw, -yaw, 0 * yaw], -1))
    return (joints - joints[:, :1]) @ turn.transpose(-1, -2)


def _coords(v: torch.Tensor, frame: torch.Tensor) -> torch.Tensor:
    """(B, 3) vectors in the axes of (B, 3, 3) frames."""
    return (v[:, None, :] @ frame)[:, 0]


def _bend(joints: torch.Tensor, a: str, b: str, c: str) -> torch.Tensor:
    """Flexion in degrees at joint b of the chain a-b-c (0 = straight)."""
    u, v = _n(joints[:, _J[b]] - joints[:, _J[a]]), _n(joints[:, _J[c]] - joints[:, _J[b]])
    return torch.rad2deg(torch.acos((u * v).sum(-1).clamp(-1, 1)))


def _level(value: torch.Tensor, thresholds: tuple[float, ...]) -> torch.Tensor:
    """Index of the category each value falls in, given ascending thresholds."""
    return torch.bucketize(
        value.contiguous(), torch.tensor(thresholds, dtype=value.dtype), right=True
    )


def _check(joints: torch.Tensor) -> torch.Tensor:
    if not isinstance(joints, torch.Tensor):
        joints = torch.as_tensor(joints)
    if joints.shape[-2:] != (NUM_JOINTS, 3) or joints.ndim not in (2, 3):
        raise InvalidInputError(f"joints must be (24, 3) or (B, 24, 3), got {tuple(joints.shape)}")
    joints = joints.detach().float()
    if not torch.isfinite(joints).all():
        raise InvalidInputError("joints contain NaN or infinite values")
    return joints


def posecodes(joints: torch.Tensor, nose: torch.Tensor | None = None) -> dict:
    """Posecodes of one pose from its (24, 3) joints (metres, y-up). `nose` (3,), e.g. the
    body's first COCO keypoint, adds `head_turn` (otherwise "unknown")."""
    joints = _check(joints)
    if joints.ndim != 2:
        raise InvalidInputError("posecodes takes one pose (24, 3); use posecodes_batch")
    return posecodes_batch(joints[None], None if nose is None else torch.as_tensor(nose)[None])[0]


@dataclass
class _Frames:
    """A batch of poses seen in the frames the codes are read in."""

    joints: torch.Tensor  # (B, 24, 3) as given
    world: torch.Tensor  # pelvis at the origin
    body: torch.Tensor  # heading removed (y up, +z the pelvis's facing)
    torso: torch.Tensor  # in the pelvis's own axes
    chest: torch.Tensor  # (B, 3, 3) axes of the upper chest
    pelvis: torch.Tensor  # (B, 3, 3) axes of the pelvis
    height: torch.Tensor  # (B, 24) above the lowest joint
    trunk: torch.Tensor  # (B, 3) unit pelvis -> neck, heading removed
    lying: torch.Tensor  # (B,) bool
    ref: torch.Tensor  # where arm/leg relations are read: torso if lying, else body

    def h(self, name: str) -> torch.Tensor:
        return self.height[:, _J[name]]


def _frames(joints: torch.Tensor) -> _Frames:
    world = joints - joints[:, :1]
    body = body_frame_joints(joints)
    pelvis = pelvis_frame(joints)
    torso = world @ pelvis
    height = body[..., 1] - body[..., 1].amin(-1, keepdim=True)
    trunk = _n(body[:, _J["neck"]] - body[:, _J["pelvis"]])
    incline = torch.rad2deg(torch.acos(trunk[:, 1].clamp(-1, 1)))
    lying = (incline > 55) & (height[:, _J["pelvis"]] < 0.3) & (height[:, _J["neck"]] < 0.35)
    ref = torch.where(lying[:, None, None], torso, body)
    chest = chest_frame(joints)
    return _Frames(joints, world, body, torso, chest, pelvis, height, trunk, lying, ref)


def posecodes_batch(joints: torch.Tensor, nose: torch.Tensor | None = None) -> list[dict]:
    """Posecodes of (B, 24, 3) joints, computed together; `nose` (B, 3) is optional."""
    joints = _check(joints)
    if joints.ndim == 2:
        joints = joints[None]
    f = _frames(joints)
    codes: dict[str, torch.Tensor] = {}
    cats: dict[str, tuple[tuple[str, ...], torch.Tensor]] = {}
    for side in SIDES:
        _limb_codes(f, side, codes, cats)
    _whole_body_codes(f, codes, cats)
    if nose is not None:
        face = _coords(nose.float() - joints[:, _J["head"]], f.chest)
        angle = torch.rad2deg(torch.atan2(face[:, 0], face[:, 2]))
        cats["head_turn"] = (TURN, _side_of(angle, 25.0))
    posture, posture_side = _posture(codes, cats, f)
    return [
        _one(codes, cats, posture[b], posture_side[b], b, nose is not None)
        for b in range(len(joints))
    ]


#: Sided codes read by `posecode_features`, with their values (None: a yes/no code).
_SIDED_FEATURES = (
    ("elbow", BEND),
    ("knee", BEND),
    ("hand_level", HAND_LEVEL),
    ("hand_forward", HAND_FORWARD),
    ("hand_out", HAND_OUT),
    ("hand_near", HAND_NEAR),
    ("knee_raised", None),
    ("foot_on_ground", None),
    ("knee_on_ground", None),
    ("hand_on_ground", None),
)
#: The layout of `posecode_features`: each code and its values, one feature per value (one for
#: a yes/no code). `head_turn` is left out: it needs the nose, which joints alone do not give.
FEATURE_LAYOUT: tuple[tuple[str, tuple[str, ...] | None], ...] = (
    *((f"{side}_{kind}", values) for side in SIDES for kind, values in _SIDED_FEATURES),
    ("hands", HANDS),
    ("feet", FEET),
    ("front_foot", TURN),
    ("trunk_lean", TRUNK_LEAN),
    ("trunk_side", TURN),
    ("trunk_twist", TURN),
    ("head_pitch", HEAD_PITCH),
    ("head_tilt", TURN),
    ("buttocks_on_ground", None),
    ("back_on_ground", None),
    ("posture", POSTURES),
    ("posture_side", TURN),
)
NUM_FEATURES = sum(len(values) if values else 1 for _, values in FEATURE_LAYOUT)


def posecode_features(joints: torch.Tensor) -> torch.Tensor:
    """(B, 24, 3) joints -> (B, NUM_FEATURES) float32: their posecodes for a model to read,
    each category one-hot and each yes/no code 0 or 1, in `FEATURE_LAYOUT` order."""
    rows = []
    for codes in posecodes_batch(joints.detach().cpu()):
        row: list[float] = []
        for name, values in FEATURE_LAYOUT:
            row += [float(codes[name])] if values is None else [codes[name] == v for v in values]
        rows.append(row)
    return torch.tensor(rows, dtype=torch.float32).reshape(len(rows), NUM_FEATURES)


def _limb_codes(f: _Frames, side: str, codes: dict, cats: dict) -> None:
    """Bends, hand placement, raised knee and ground contacts of one side."""
    sign = 1.0 if side == "left" else -1.0
    elbow = _bend(f.joints, f"{side}_shoulder", f"{side}_elbow", f"{side}_wrist")
    knee = _bend(f.joints, f"{side}_hip", f"{side}_knee", f"{side}_ankle")
    codes[f"{side}_elbow_angle"], codes[f"{side}_knee_angle"] = elbow, knee
    cats[f"{side}_elbow"] = (BEND, _level(elbow, ELBOW_BENDS))
    cats[f"{side}_knee"] = (BEND, _level(knee, KNEE_BENDS))

    up = f.ref[:, _J[f"{side}_hand"], 1]
    marks = (("pelvis", -0.06), ("spine2", 0.04), ("spine3", 0.12), ("neck", 0.05), ("head", 0.1))
    level = sum((up > f.ref[:, _J[j], 1] + dy).long() for j, dy in marks)
    cats[f"{side}_hand_level"] = (HAND_LEVEL, level)
    # Forward and sideways: relative to the shoulder, in the chest's own axes.
    hand = f.world[:, _J[f"{side}_hand"]]
    reach = _coords(hand - f.world[:, _J[f"{side}_shoulder"]], f.chest)
    cats[f"{side}_hand_forward"] = (HAND_FORWARD, _level(reach[:, 2], (-0.12, 0.2, 0.42)))
    across = sign * _coords(hand - f.world[:, _J["spine3"]], f.chest)[:, 0] < -0.05
    out = torch.where(across, 0, torch.where(sign * reach[:, 0] > 0.22, 2, 1))
    cats[f"{side}_hand_out"] = (HAND_OUT, out)
    cats[f"{side}_hand_near"] = (HAND_NEAR, _hand_near(f.world, f.chest, side, elbow))

    codes[f"{side}_knee_raised"] = f.ref[:, _J[f"{side}_knee"], 1] > (
        f.ref[:, _J[f"{side}_hip"], 1] + 0.1
    )
    foot = torch.minimum(f.h(f"{side}_foot"), f.h(f"{side}_ankle") - 0.05)
    codes[f"{side}_foot_on_ground"] = foot < CONTACT["foot"]
    codes[f"{side}_knee_on_ground"] = f.h(f"{side}_knee") < CONTACT["knee"]
    palm = torch.minimum(f.h(f"{side}_hand"), f.h(f"{side}_wrist"))
    codes[f"{side}_hand_on_ground"] = palm < CONTACT["hand"]


def _whole_body_codes(f: _Frames, codes: dict, cats: dict) -> None:
    """Contacts of the trunk, distances between hands and feet, trunk and head."""
    seat = torch.minimum(f.h("pelvis"), f.h("left_hip").minimum(f.h("right_hip")))
    codes["buttocks_on_ground"] = seat < CONTACT["buttocks"]
    codes["back_on_ground"] = f.lying & (f.pelvis[:, 1, 2] > 0.5)  # lying, facing up
    hands = (f.world[:, _J["left_hand"]] - f.world[:, _J["right_hand"]]).norm(dim=-1)
    feet = (f.world[:, _J["left_ankle"]] - f.world[:, _J["right_ankle"]]).norm(dim=-1)
    codes["hands_distance"], codes["feet_distance"] = hands, feet
    cats["hands"] = (HANDS, _level(hands, (0.12, 0.3, 0.85)))
    cats["feet"] = (FEET, _level(feet, (0.18, 0.5)))
    foot_gap = f.ref[:, _J["left_ankle"], 2] - f.ref[:, _J["right_ankle"], 2]
    cats["front_foot"] = (TURN, _side_of(foot_gap, 0.2))

    trunk = f.body[:, _J["neck"]] - f.body[:, _J["pelvis"]]
    pitch = torch.rad2deg(torch.atan2(trunk[:, 2], trunk[:, 1]))  # > 0: forward
    codes["trunk_incline"] = torch.rad2deg(torch.acos(_n(trunk)[:, 1].clamp(-1, 1)))
    codes["trunk_pitch"] = pitch
    lean = _level(pitch, (-15.0, 20.0, 50.0))
    cats["trunk_lean"] = (TRUNK_LEAN, torch.where(f.lying, TRUNK_LEAN.index("upright"), lean))
    upper = f.torso[:, _J["neck"]] - f.torso[:, _J["spine1"]]
    roll = torch.rad2deg(torch.atan2(upper[:, 0], upper[:, 1]))  # > 0: leans to the left
    cats["trunk_side"] = (TURN, _side_of(roll, 12.0))
    shoulders = f.torso[:, _J["left_shoulder"]] - f.torso[:, _J["right_shoulder"]]
    twist = torch.rad2deg(torch.atan2(-shoulders[:, 2], shoulders[:, 0]))  # > 0: to the left
    cats["trunk_twist"] = (TURN, _side_of(twist, 25.0))
    head = _coords(f.world[:, _J["head"]] - f.world[:, _J["neck"]], f.chest)
    head_pitch = torch.rad2deg(torch.atan2(head[:, 2], head[:, 1])) - 17.0  # rest: 17 forward
    cats["head_pitch"] = (HEAD_PITCH, _level(head_pitch, (-12.0, 20.0)))
    head_roll = torch.rad2deg(torch.atan2(head[:, 0], head[:, 1]))
    cats["head_tilt"] = (TURN, _side_of(head_roll, 12.0))
    codes["pelvis_height"] = f.h("pelvis")


def _side_of(angle: torch.Tensor, threshold: float) -> torch.Tensor:
    """Index into TURN: 0 left (angle > threshold), 2 right (< -threshold), else 1."""
    return torch.where(angle > threshold, 0, torch.where(angle < -threshold, 2, 1))


def _hand_near(
    world: torch.Tensor, chest: torch.Tensor, side: str, elbow: torch.Tensor
) -> torch.Tensor:
    """Index into HAND_NEAR of the body part one hand is at (first match wins)."""
    hand = world[:, _J[f"{side}_hand"]]

    def near(point: torch.Tensor, radius: float) -> torch.Tensor:
        return (hand - point).norm(dim=-1) < radius

    d = _coords(hand - world[:, _J["head"]], chest)  # head-relative, chest axes
    sign = 1.0 if side == "left" else -1.0
    at_head = d.norm(dim=-1) < 0.2
    ear = at_head & (sign * d[:, 0] > 0.05) & (d[:, 2] < 0.07) & (d[:, 1] < 0.08)
    face = at_head & ~ear & (d[:, 2] > 0.04) & (d[:, 0].abs() < 0.1)
    chest_point = world[:, _J["spine3"]] + chest @ torch.tensor([0.0, 0.05, 0.13])
    hip = world[:, _J[f"{side}_hip"]]
    on_hip = near(hip, 0.2) & (hand[:, 1] > hip[:, 1]) & (elbow > 60)
    knee = near(world[:, _J["left_knee"]], 0.15) | near(world[:, _J["right_knee"]], 0.15)
    foot = torch.stack(
        [near(world[:, _J[f"{s}_{p}"]], 0.2) for s in SIDES for p in ("ankle", "foot")], -1
    ).any(-1)
    index = torch.zeros(len(hand), dtype=torch.long)
    # Later assignments lose to earlier ones: fill from the lowest priority up.
    for value, mask in (
        ("foot", foot),
        ("knee", knee),
        ("hip", on_hip),
        ("chest", near(chest_point, 0.17)),
        ("head", at_head),
        ("ear", ear),
        ("face", face),
    ):
        index = torch.where(mask, HAND_NEAR.index(value), index)
    return index


def _hip_bend(body: torch.Tensor) -> torch.Tensor:
    """(B, 24, 3) joints -> (B,) how far the thighs bend from the line of the trunk, in degrees
    (0 = body straight as in standing or a plank), the mean of both sides."""
    return sum(_bend(body, "neck", "pelvis", f"{s}_knee") for s in SIDES) / len(SIDES)


def _posture(codes: dict, cats: dict, f: _Frames) -> tuple[list[str], list[str]]:
    """The overall posture of each pose and the side it refers to ("none" if any)."""
    knee = {s: codes[f"{s}_knee_on_ground"] for s in SIDES}
    foot = {s: codes[f"{s}_foot_on_ground"] for s in SIDES}
    hands_down = codes["left_hand_on_ground"] | codes["right_hand_on_ground"]
    bend = {s: codes[f"{s}_knee_angle"] for s in SIDES}
    seat = codes["buttocks_on_ground"]
    lean = cats["trunk_lean"][1]
    hip_bend = _hip_bend(f.body)
    pelvis_h = f.h("pelvis")
    thigh_flat = {s: f.h(f"{s}_knee") > f.h(f"{s}_hip") - 0.2 for s in SIDES}
    ankle_z = {s: f.ref[:, _J[f"{s}_ankle"], 2] for s in SIDES}
    facing_up, left_up = f.pelvis[:, 1, 2], f.pelvis[:, 1, 0]  # world-up parts of the axes
    out, sides = [], []
    # both knees down and fully bent under bent hips: sitting back on the heels, upright or
    # folded over the knees (child's pose); not on all fours (knees at a right angle) or lying
    heels = knee["left"] & knee["right"] & (hip_bend > STRAIGHT_HIPS)
    heels &= (bend["left"] > KNEE_BENDS[2]) & (bend["right"] > KNEE_BENDS[2])
    # on the hands, the feet off the ground and the trunk pointing down: a handstand (a downward
    # dog keeps its feet down)
    upside = hands_down & ~(foot["left"] | foot["right"]) & (f.trunk[:, 1] < -0.85)
    for b in range(len(f.lying)):
        side = "none"
        if upside[b]:
            posture = "upside down"
        elif heels[b]:
            posture = "kneeling"
        elif f.lying[b]:
            if facing_up[b] > 0.5:
                posture = "lying on the back"
            elif facing_up[b] < -0.5:
                posture = "lying on the front"
            else:
                posture, side = "lying on the side", "left" if left_up[b] < 0 else "right"
        elif (
            facing_up[b] < -0.5
            and hip_bend[b] < OPEN_HIPS
            and (seat[b] or pelvis_h[b] < PRONE_PELVIS)
        ):
            posture = "lying on the front"  # hips low and facing the floor, the chest maybe raised
        elif seat[b]:
            posture = "sitting on the floor"
        elif knee["left"][b] and knee["right"][b]:
            posture = "on all fours" if hands_down[b] else "kneeling"
        elif knee["left"][b] or knee["right"][b]:
            posture, side = "kneeling on one knee", "left" if knee["left"][b] else "right"
        elif bend["left"][b] > 100 and bend["right"][b] > 100 and pelvis_h[b] < 0.6:
            posture = "squatting"
        elif (
            pelvis_h[b] < 0.7
            and all(thigh_flat[s][b] and bend[s][b] > 50 for s in SIDES)
            and lean[b] < 3
        ):
            posture = "sitting"
        elif lean[b] == 3 and facing_up[b] < -0.5 and hip_bend[b] < STRAIGHT_HIPS:
            posture = "propped up face down"  # a straight body held off the floor: a plank
        elif lean[b] == 3:
            posture = "bending forward"
        elif _one_leg(foot, f, b) is not None:
            posture, side = "standing on one leg", _one_leg(foot, f, b)
        elif _lunge(bend, ankle_z, b) is not None:
            posture, side = "lunging", _lunge(bend, ankle_z, b)
        elif pelvis_h[b] < STANDING_PELVIS:
            posture = "sitting on the floor"
        else:
            posture = "standing"
        out.append(posture)
        sides.append(side)
    return out, sides


def _one_leg(foot: dict, f: _Frames, b: int) -> str | None:
    """The supporting leg when one foot is on the ground and the other clearly off it."""
    for side, other in (("left", "right"), ("right", "left")):
        raised = min(float(f.h(f"{other}_foot")[b]), float(f.h(f"{other}_ankle")[b]))
        if foot[side][b] and raised > RAISED_FOOT:
            return side
    return None


def _lunge(bend: dict, ankle_z: dict, b: int) -> str | None:
    """The front leg of a lunge (a bent knee with its foot well ahead), or None."""
    gap = float(ankle_z["left"][b] - ankle_z["right"][b])
    front = "left" if gap > 0 else "right"
    if abs(gap) > 0.45 and bend[front][b] > 60:
        return front
    return None


def _one(codes, cats, posture: str, posture_side: str, b: int, has_nose: bool) -> dict:
    out: dict = {"posture": posture, "posture_side": posture_side}
    for name, (values, index) in cats.items():
        out[name] = values[int(index[b])]
    if not has_nose:
        out["head_turn"] = "unknown"
    for name, value in codes.items():
        out[name] = bool(value[b]) if value.dtype == torch.bool else round(float(value[b]), 3)
    return out


# -- questions and answers --------------------------------------------------------------

_BEND_ANSWER = {
    "straight": "No, the {side} {part} is straight.",
    "slightly bent": "Only slightly.",
    "bent": "Yes, the {side} {part} is bent.",
    "fully bent": "Yes, the {side} {part} is fully bent.",
}


def facts(codes: dict) -> list[tuple[str, str]]:
    """Question/answer pairs stated by a pose's posecodes (for instruction data)."""
    qa = [("What is the person doing?", f"The person is {posture_phrase(codes)}.")]
    for side in SIDES:
        for part in ("elbow", "knee"):
            value = codes[f"{side}_{part}"]
            answer = _BEND_ANSWER[value].format(side=side, part=part)
            qa.append((f"Is the {side} {part} bent?", answer))
        level = codes[f"{side}_hand_level"]
        raised = level == "above the head"
        qa.append(
            (
                f"Is the {side} arm raised?",
                f"Yes, the {side} hand is above the head."
                if raised
                else f"No, the {side} hand is {_level_phrase(level)}.",
            )
        )
        near = codes[f"{side}_hand_near"]
        if near != "nothing":
            qa.append((f"Where is the {side} hand?", f"The {side} hand is at the {near}."))
    hands = codes["hands"]
    qa.append(
        ("Are the hands together?", "Yes." if hands == "together" else f"No, they are {hands}.")
    )
    front = codes["front_foot"]
    qa.append(
        (
            "Which foot is in front?",
            "Neither, the feet are level." if front == "none" else f"The {front} foot is in front.",
        )
    )
    lying = codes["posture"].startswith("lying")
    qa.append(("Is the person lying down?", "Yes." if lying else "No."))
    ground = [
        f"the {side} {part}"
        for part in ("foot", "knee", "hand")
        for side in SIDES
        if codes[f"{side}_{part}_on_ground"]
    ]
    if codes["buttocks_on_ground"]:
        ground.append("the buttocks")
    if codes["back_on_ground"]:
        ground.append("the back")
    if ground:
        qa.append(("What touches the ground?", join_and(ground).capitalize() + "."))
    return qa


def _level_phrase(level: str) -> str:
    return "down by the side" if level == "down" else level


def join_and(items: Sequence[str]) -> str:
    """Items joined as in English: "a", "a and b", "a, b and c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


_POSTURE_PHRASES = {
    "kneeling on one knee": "kneeling on {poss} {side} knee",
    "kneeling": "kneeling on both knees",
    "standing on one leg": "standing on {poss} {side} leg",
    "lunging": "lunging with {poss} {side} leg forward",
    "lying on the back": "lying on {poss} back",
    "lying on the front": "lying face down",
    "propped up face down": "propped up face down, {poss} body straight",
    "lying on the side": "lying on {poss} {side} side",
    "sitting": "sitting as if on a chair",
    "upside down": "upside down on {poss} hands",
}


def posture_phrase(codes: dict, poss: str = "the") -> str:
    """The posture as a verb phrase, e.g. "kneeling on their left knee" (poss="their")."""
    template = _POSTURE_PHRASES.get(codes["posture"], codes["posture"])
    return template.format(poss=poss, side=codes["posture_side"])
