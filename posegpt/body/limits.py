"""Joint-angle limits: how far each joint of the SMPL skeleton can turn.

One table, `JOINT_LIMITS`, serves the pose generator (`clamp_to_limits`), the plausibility check
(`posegpt.synth.plausibility`) and the fits to landmarks (`limit_violation` as a penalty). Each
joint's rotation is read as extrinsic Euler angles in a convention chosen so that its middle
angle stays well inside (-90, 90) degrees over the joint's range: the decomposition is then
unique and far from gimbal lock.
"""

from __future__ import annotations

from functools import lru_cache

import roma
import torch

from posegpt.body.skeleton import JOINT_NAMES

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
