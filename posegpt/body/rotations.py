"""SMPL pose conversions (axis-angle, rotation matrices, 6D) and validation, built on roma.

Conventions: a pose is 24 joint rotations, joint 0 the global orientation. Axis-angle poses
are (..., 72) or (..., 24, 3); rotation matrices (..., 24, 3, 3); the 6D form is the first two
columns of each matrix, (..., 24, 6), mapped back by Gram-Schmidt.
"""

from __future__ import annotations

import numpy as np
import roma
import torch

from posegpt.body.skeleton import FLIP_PERMUTATION, NUM_JOINTS
from posegpt.errors import InvalidInputError

ArrayLike = torch.Tensor | np.ndarray

#: The frame of the root rotation (rotmat[0], axis-angle pose[0:3]) of every pose posegpt
#: answers with, writes in pose files and learns from, for words and photos alike: y up, the
#: person facing +z (toward the viewer; for a photo, toward the camera), their left side at +x
#: (SMPL's rest frame). For a photo, x is the picture's right and y its up: the camera frame of
#: HMR/SPIN data (x right, y down, z forward) turned a half turn about x (`camera_to_y_up`,
#: applied where image data is read). Any renderer shows such a pose upright, as the camera saw it.
POSE_FRAME = "y_up"

#: Largest deviation from orthonormality accepted for a rotation matrix.
ROTATION_TOLERANCE = 1e-3


def as_tensor(x: ArrayLike | list, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Convert `x` to a float tensor, rejecting NaN and infinite values."""
    if not isinstance(x, torch.Tensor):
        x = np.asarray(x)
        if x.dtype.kind not in "fiu":
            raise InvalidInputError(f"expected numbers, got dtype {x.dtype}")
    t = torch.as_tensor(x)
    if not (t.is_floating_point() or t.dtype in (torch.int32, torch.int64)):
        raise InvalidInputError(f"expected numbers, got dtype {t.dtype}")
    t = t.to(dtype)
    if not torch.isfinite(t).all():
        raise InvalidInputError("pose contains NaN or infinite values")
    return t


def axis_angle_to_rotmat(pose: ArrayLike) -> torch.Tensor:
    """(..., 72) or (..., 24, 3) axis-angle -> (..., 24, 3, 3) rotation matrices."""
    t = as_tensor(pose)
    if t.shape[-1] == NUM_JOINTS * 3:
        t = t.reshape(*t.shape[:-1], NUM_JOINTS, 3)
    if t.shape[-2:] != (NUM_JOINTS, 3):
        raise InvalidInputError(
            f"axis-angle pose must have shape (..., 72) or (..., 24, 3), got {tuple(t.shape)}"
        )
    return roma.rotvec_to_rotmat(t)


def rotmat_to_axis_angle(rotmat: ArrayLike) -> torch.Tensor:
    """(..., 24, 3, 3) rotation matrices -> (..., 72) axis-angle."""
    r = check_rotmat(rotmat)
    return roma.rotmat_to_rotvec(r).reshape(*r.shape[:-3], NUM_JOINTS * 3)


def rotmat_to_6d(rotmat: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) -> (..., 6): the first two columns, column-major."""
    return rotmat[..., :, :2].transpose(-1, -2).reshape(*rotmat.shape[:-2], 6)


def sixd_to_rotmat(sixd: torch.Tensor) -> torch.Tensor:
    """(..., 6) -> (..., 3, 3) by Gram-Schmidt (differentiable)."""
    cols = sixd.reshape(*sixd.shape[:-1], 2, 3).transpose(-1, -2)
    return roma.special_gramschmidt(cols)


def check_rotmat(rotmat: ArrayLike, tolerance: float = ROTATION_TOLERANCE) -> torch.Tensor:
    """Return `rotmat` as a float32 (..., 24, 3, 3) tensor, or raise if it is not a pose."""
    r = as_tensor(rotmat)
    if r.ndim < 3 or r.shape[-3:] != (NUM_JOINTS, 3, 3):
        raise InvalidInputError(
            f"rotation matrices must have shape (..., 24, 3, 3), got {tuple(r.shape)}"
        )
    if not roma.is_rotation_matrix(r.double(), epsilon=tolerance):
        raise InvalidInputError(
            "pose contains matrices that are not rotations (R R^T != I or det != 1)"
        )
    return r


def to_rotmat(pose: ArrayLike) -> torch.Tensor:
    """Accept axis-angle (..., 72) / (..., 24, 3) or matrices (..., 24, 3, 3); return matrices."""
    t = as_tensor(pose)
    if t.ndim >= 3 and t.shape[-2:] == (3, 3):
        return check_rotmat(t)
    return axis_angle_to_rotmat(t)


def flip_pose(rotmat: torch.Tensor) -> torch.Tensor:
    """Mirror a pose left<->right (reflection x -> -x, SMPL's left side is +x)."""
    m = torch.diag(torch.tensor([-1.0, 1.0, 1.0], dtype=rotmat.dtype, device=rotmat.device))
    return (m @ rotmat @ m)[..., list(FLIP_PERMUTATION), :, :]


def camera_to_y_up(rotmat: torch.Tensor) -> torch.Tensor:
    """Poses (..., 24, 3, 3) whose root is in the OpenCV camera frame (x right, y down, z forward,
    as HMR/SPIN data) -> the same poses in POSE_FRAME (y up, facing the camera): a half turn of
    the root about x. Its own inverse, so it also turns POSE_FRAME poses into the camera frame."""
    half_turn = torch.diag(rotmat.new_tensor([1.0, -1.0, -1.0]))
    out = rotmat.clone()
    out[..., 0, :, :] = half_turn @ rotmat[..., 0, :, :]
    return out


def identity_pose(batch: int | None = None) -> torch.Tensor:
    """The T-pose: (24, 3, 3) identities, or (batch, 24, 3, 3)."""
    eye = torch.eye(3).expand(NUM_JOINTS, 3, 3)
    return (eye if batch is None else eye.expand(batch, NUM_JOINTS, 3, 3)).clone()


def geodesic_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Angle in radians between rotation matrices, elementwise over (..., 3, 3)."""
    return roma.rotmat_geodesic_distance(a, b)
