"""Is a pose humanly possible? Joint-angle limits (`posegpt.body.limits`), gross
self-intersection and the floor."""

from __future__ import annotations

import torch

from posegpt.body.limits import limit_violation
from posegpt.body.skeleton import JOINT_INDEX

#: Radius (m) of the capsule around the spine (pelvis to neck) that hands and legs must not enter.
TORSO_RADIUS = 0.10
#: Closest distance (m) allowed between the axes of the two legs.
LEG_GAP = 0.07
#: Points sampled along each limb segment by `self_intersecting`.
_SEGMENT_POINTS = 8


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
