"""Is a pose humanly possible? Joint-angle limits, gross self-intersection and the floor.

One table, `JOINT_LIMITS`, serves both the pose generator (`clamp_to_limits`) and the check
(`is_plausible`). Each joint's rotation is read as extrinsic Euler angles in a convention
chosen so that its middle angle stays well inside (-90, 90) degrees over the joint's range:
the decomposition is then unique and far from gimbal lock.
"""

from __future__ import annotations

from functools import lru_cache

import roma
import torch

from posegpt.body.skeleton import JOINT_INDEX, JOINT_NAMES

Range = tuple[float, float]

#: Joint-angle limits in degrees: joint (central name, or the side-less part of a sided one)
#: -> (extrinsic Euler convention, (lo, hi) per angle in convention order). Sided joints are
#: given for the LEFT side; the right side is the mirror image (its y and z angles negate).
#: Signs on the left: hip x < 0 flexes the thigh forward, z > 0 abducts it; knee x > 0 bends;
#: ankle x > 0 points the toes; spine/neck/head x > 0 bend forward, z > 0 lean to the right,
#: y > 0 turn to the left; collar z > 0 shrugs; shoulder ("zxy") z raises the arm in the
#: frontal plane, y < 0 swings it forward; elbow y < 0 bends; wrist z < 0 flexes the palm.
#: The ranges cover the 1,336 frames of the real AMASS samples and the generated families.
JOINT_LIMITS: dict[str, tuple[str, tuple[Range, Range, Range]]] = {
    "spine1": ("yzx", ((-40, 40), (-40, 40), (-40, 65))),
    "spine2": ("yzx", ((-40, 40), (-40, 40), (-40, 65))),
    "spine3": ("yzx", ((-40, 40), (-40, 40), (-40, 65))),
    "neck": ("yzx", ((-60, 60), (-45, 45), (-50, 60))),
    "head": ("yzx", ((-70, 70), (-40, 40), (-50, 50))),
    "hip": ("yzx", ((-50, 70), (-40, 80), (-140, 45))),
    "knee": ("yzx", ((-40, 40), (-40, 30), (-10, 160))),
    "ankle": ("yzx", ((-40, 40), (-45, 40), (-45, 95))),
    "foot": ("yzx", ((-35, 35), (-45, 45), (-70, 40))),
    "collar": ("zxy", ((-40, 55), (-35, 35), (-55, 35))),
    "shoulder": ("zxy", ((-110, 105), (-80, 80), (-150, 100))),
    "elbow": ("yzx", ((-165, 40), (-45, 45), (-110, 70))),
    "wrist": ("zyx", ((-90, 80), (-45, 45), (-100, 70))),
    "hand": ("zyx", ((-60, 60), (-40, 40), (-60, 60))),
}

#: Radius (m) of the capsule around the spine (pelvis to neck) that hands and legs must not enter.
TORSO_RADIUS = 0.10
#: Closest distance (m) allowed between the axes of the two legs.
LEG_GAP = 0.07
#: Points sampled along each limb segment by `self_intersecting`.
_SEGMENT_POINTS = 8


def joint_limits(name: str) -> tuple[str, tuple[Range, ...]]:
    """Convention and (lo, hi) ranges of one non-root joint (right side mirrored), by name."""
    side, _, part = name.partition("_")
    if side not in ("left", "right"):
        return JOINT_LIMITS[name]
    convention, ranges = JOINT_LIMITS[part]
    if side == "left":
        return convention, ranges
    mirrored = tuple(
        (-hi, -lo) if axis in "yz" else (lo, hi)
        for axis, (lo, hi) in zip(convention, ranges, strict=True)
    )
    return convention, mirrored


@lru_cache(maxsize=1)
def limit_groups() -> tuple[tuple[str, torch.Tensor, torch.Tensor, torch.Tensor], ...]:
    """The limited joints grouped by convention: (convention, joint indices, lo, hi) in degrees.
    The pelvis (global orientation) is unlimited."""
    groups: dict[str, list] = {}
    for j, name in enumerate(JOINT_NAMES[1:], start=1):
        convention, ranges = joint_limits(name)
        groups.setdefault(convention, []).append((j, ranges))
    return tuple(
        (
            convention,
            torch.tensor([j for j, _ in items]),
            torch.tensor([[lo for lo, _ in r] for _, r in items], dtype=torch.float32),
            torch.tensor([[hi for _, hi in r] for _, r in items], dtype=torch.float32),
        )
        for convention, items in groups.items()
    )


def clamp_to_limits(rotmat: torch.Tensor) -> torch.Tensor:
    """Clip every joint rotation of (..., 24, 3, 3) poses to `JOINT_LIMITS`."""
    out = rotmat.clone()
    for convention, idx, lo, hi in limit_groups():
        euler = roma.rotmat_to_euler(convention, rotmat[..., idx, :, :], degrees=True)
        clipped = torch.maximum(torch.minimum(euler, hi.to(euler)), lo.to(euler))
        out[..., idx, :, :] = roma.euler_to_rotmat(convention, clipped, degrees=True).to(out)
    return out


def limit_violation(rotmat: torch.Tensor) -> torch.Tensor:
    """(..., 24, 3, 3) poses -> (..., 24): degrees by which each joint exceeds its limits
    (0 inside them; always 0 for the pelvis)."""
    out = torch.zeros(rotmat.shape[:-2], dtype=torch.float32, device=rotmat.device)
    for convention, idx, lo, hi in limit_groups():
        euler = roma.rotmat_to_euler(convention, rotmat[..., idx, :, :].float(), degrees=True)
        excess = torch.maximum(lo.to(euler) - euler, euler - hi.to(euler)).clamp(min=0)
        out[..., idx] = excess.amax(-1)
    return out


def _segment_points(joints: torch.Tensor, a: str, b: str, start: float = 0.0) -> torch.Tensor:
    """(..., P, 3) points along the segment from joint `a` to joint `b`, from fraction `start`."""
    t = torch.linspace(start, 1.0, _SEGMENT_POINTS, dtype=joints.dtype, device=joints.device)
    pa, pb = joints[..., JOINT_INDEX[a], None, :], joints[..., JOINT_INDEX[b], None, :]
    return pa + t[:, None] * (pb - pa)


def _distance_to_segment(points: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Distance of (..., P, 3) points to the segments a-b, a and b (..., 3)."""
    ab = (b - a)[..., None, :]
    t = (((points - a[..., None, :]) * ab).sum(-1) / (ab * ab).sum(-1).clamp(min=1e-9)).clamp(0, 1)
    return (points - (a[..., None, :] + t[..., None] * ab)).norm(dim=-1)


def _limb_points(joints: torch.Tensor, side: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Points along one side's forearm + hand, and along its thigh (lower part) + shin."""
    arm = torch.cat(
        [
            _segment_points(joints, f"{side}_elbow", f"{side}_wrist"),
            _segment_points(joints, f"{side}_wrist", f"{side}_hand"),
        ],
        dim=-2,
    )
    leg = torch.cat(
        [
            _segment_points(joints, f"{side}_hip", f"{side}_knee", start=0.4),
            _segment_points(joints, f"{side}_knee", f"{side}_ankle"),
        ],
        dim=-2,
    )
    return arm, leg


def self_intersecting(joints: torch.Tensor) -> torch.Tensor:
    """(..., 24, 3) joints (metres) -> (...) bool: a forearm, hand or leg passes through the
    torso, or the legs pass through each other. A cheap test for gross cases only."""
    pelvis, neck = joints[..., JOINT_INDEX["pelvis"], :], joints[..., JOINT_INDEX["neck"], :]
    (left_arm, left_leg), (right_arm, right_leg) = (
        _limb_points(joints, "left"),
        _limb_points(joints, "right"),
    )
    limbs = torch.cat([left_arm, right_arm, left_leg, right_leg], dim=-2)
    in_torso = _distance_to_segment(limbs, pelvis, neck).amin(-1) < TORSO_RADIUS
    legs_cross = torch.cdist(left_leg, right_leg).flatten(-2).amin(-1) < LEG_GAP
    return in_torso | legs_cross


def is_plausible(
    rotmat: torch.Tensor, joints: torch.Tensor | None = None, tolerance: float = 1.0
) -> torch.Tensor:
    """(..., 24, 3, 3) poses -> (...) bool: every joint within `JOINT_LIMITS` (+ `tolerance`
    degrees) and, when the posed `joints` (..., 24, 3) are given, no gross self-intersection."""
    ok = limit_violation(rotmat).amax(-1) <= tolerance
    if joints is not None:
        ok = ok & ~self_intersecting(joints)
    return ok


def ground_offset(points: torch.Tensor) -> torch.Tensor:
    """Height of the lowest of (..., N, 3) joints or vertices (y-up): subtract it from y to
    stand the body on the floor at y = 0."""
    return points[..., 1].amin(-1)
