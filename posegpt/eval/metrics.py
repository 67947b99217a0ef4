"""Pose metrics (batched torch): joint position errors, joint rotation error, recall@K.

Joints are in metres in and errors in millimetres out. Two poses are always compared with the
same body model on both sides (`pose_errors`), on the joint set of the protocol (`JointSet`:
SMPL's 24, SMPL's 22 for RPE, Human3.6M's 14 from a user-supplied regressor).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import roma
import torch

from posegpt.body.base import BodyModel, BodyOutput
from posegpt.body.rotations import check_rotmat, geodesic_distance
from posegpt.errors import InvalidInputError, ModelFileError

MM_PER_M = 1000.0
#: MPJRE is reported as radians x 100 (see `mpjre`).
MPJRE_SCALE = 100.0
PELVIS = 0
DEFAULT_K = (5, 10, 20)
#: Poses posed per body-model call (bounds memory: the meshes are computed too).
BODY_CHUNK = 256


def _check_joints(pred: torch.Tensor, gt: torch.Tensor) -> None:
    if pred.shape != gt.shape or pred.ndim != 3 or pred.shape[-1] != 3:
        raise InvalidInputError(
            f"joints must both have shape (B, J, 3), got {tuple(pred.shape)} and {tuple(gt.shape)}"
        )


def mpjpe(
    pred_joints: torch.Tensor,
    gt_joints: torch.Tensor,
    align: str | None = "pelvis",
    root: Sequence[int] = (PELVIS,),
) -> torch.Tensor:
    """Mean per-joint position error (B,) in mm between (B, J, 3) joints in metres.

    align: "pelvis" subtracts each skeleton's root first (the mean of the `root` joints: joint 0
    for SMPL, the two hips for Human3.6M's 14 joints); None compares the joints as given.
    """
    _check_joints(pred_joints, gt_joints)
    if align == "pelvis":
        root = list(root)
        pred_joints = pred_joints - pred_joints[:, root].mean(dim=1, keepdim=True)
        gt_joints = gt_joints - gt_joints[:, root].mean(dim=1, keepdim=True)
    elif align is not None:
        raise InvalidInputError(f"align must be 'pelvis' or None, got {align!r}")
    return (pred_joints - gt_joints).norm(dim=-1).mean(dim=-1) * MM_PER_M


def pa_mpjpe(pred_joints: torch.Tensor, gt_joints: torch.Tensor) -> torch.Tensor:
    """Procrustes-aligned MPJPE (B,) in mm: `pred` is first moved onto `gt` by the similarity
    transform (rotation, translation and scale) that best fits it (roma's Umeyama solver)."""
    _check_joints(pred_joints, gt_joints)
    pred, gt = pred_joints.double(), gt_joints.double()
    rot, shift, scale = roma.rigid_points_registration(pred, gt, compute_scaling=True)
    aligned = scale[:, None, None] * pred @ rot.transpose(-1, -2) + shift[:, None, :]
    return ((aligned - gt).norm(dim=-1).mean(dim=-1) * MM_PER_M).to(pred_joints.dtype)


def mpjre(pred_rotmat: torch.Tensor, gt_rotmat: torch.Tensor) -> torch.Tensor:
    """Mean per-joint rotation error (B,): the geodesic angle between predicted and true local
    joint rotations (B, 24, 3, 3), in radians, averaged over the 24 joints, times 100.

    "x100" is read as the usual table scaling: the value is the mean error in radians multiplied
    by 100 (hundredths of a radian), so one joint off by 0.5 rad out of 24 gives 0.5 / 24 x 100
    = 2.08. It is not degrees (0.5 rad = 28.6 degrees) and not a percentage of pi.
    """
    pred, gt = check_rotmat(pred_rotmat), check_rotmat(gt_rotmat)
    if pred.shape != gt.shape or pred.ndim != 4:
        raise InvalidInputError(
            f"rotations must both have shape (B, 24, 3, 3), got {tuple(pred.shape)} and "
            f"{tuple(gt.shape)}"
        )
    return geodesic_distance(pred.double(), gt.double()).mean(dim=-1).float() * MPJRE_SCALE


@dataclass(frozen=True)
class JointSet:
    """The joints a protocol scores: `select` takes a posed body to (B, J, 3) joints; MPJPE is
    aligned on the mean of the `root` joints."""

    name: str
    select: Callable[[BodyOutput], torch.Tensor]
    root: tuple[int, ...] = (PELVIS,)


#: SMPL's 24 joints (3DPW as posegpt scores it, and the default).
SMPL24 = JointSet("SMPL 24 joints", lambda out: out.joints)
#: SMPL's first 22 joints, no hands (RPE, as the RPE-Refined evaluation script).
SMPL22 = JointSet("SMPL 22 joints (no hands)", lambda out: out.joints[:, :22])
#: Human3.6M's 17 regressed joints -> the 14 of the standard protocol (LSP order; SPIN's
#: H36M_TO_J14), whose root is the middle of the hips (2, 3).
H36M17_TO_J14 = (6, 5, 4, 1, 2, 3, 16, 15, 14, 11, 12, 13, 8, 10)
H36M_HIPS = (2, 3)


def h36m14(regressor: np.ndarray | torch.Tensor) -> JointSet:
    """Human3.6M's 14 evaluation joints from a (17, V) vertex regressor (the user's
    `J_regressor_h36m.npy`, for SMPL's 6890 vertices)."""
    weights = torch.as_tensor(np.asarray(regressor), dtype=torch.float32)
    if weights.ndim != 2 or weights.shape[0] != 17 or not torch.isfinite(weights).all():
        raise InvalidInputError(f"a Human3.6M regressor is (17, V), got {tuple(weights.shape)}")

    def select(out: BodyOutput) -> torch.Tensor:
        if out.vertices.shape[1] != weights.shape[1]:
            raise InvalidInputError(
                f"the regressor is for {weights.shape[1]} vertices, the body model has "
                f"{out.vertices.shape[1]}: use the body it was made for (--body PATH to SMPL)"
            )
        joints = torch.einsum("jv,bvc->bjc", weights.to(out.vertices), out.vertices)
        return joints[:, list(H36M17_TO_J14)]

    return JointSet("Human3.6M 14 joints", select, H36M_HIPS)


def load_joint_regressor(path: str | os.PathLike) -> JointSet:
    """`h36m14` from a .npy file (never unpickled)."""
    try:
        regressor = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ModelFileError(f"cannot read the joint regressor {path}: {err}") from err
    if not isinstance(regressor, np.ndarray):
        raise ModelFileError(f"{path} must hold one (17, V) array")
    return h36m14(regressor)


@torch.no_grad()
def pose_errors(
    pred_rotmat: torch.Tensor,
    gt_rotmat: torch.Tensor,
    body: BodyModel,
    joint_set: JointSet = SMPL24,
) -> dict[str, torch.Tensor]:
    """MPJPE, PA-MPJPE (mm) on `joint_set` and MPJRE (x100) per pose (B,), joints posed by the
    same `body`."""
    pred, gt = check_rotmat(pred_rotmat), check_rotmat(gt_rotmat)
    if pred.shape != gt.shape or pred.ndim != 4 or len(pred) == 0:
        raise InvalidInputError(
            f"poses must both be (B >= 1, 24, 3, 3), got {tuple(pred.shape)} and {tuple(gt.shape)}"
        )
    chunks = range(0, len(pred), BODY_CHUNK)
    pred_joints = torch.cat([joint_set.select(body(pred[i : i + BODY_CHUNK])) for i in chunks])
    gt_joints = torch.cat([joint_set.select(body(gt[i : i + BODY_CHUNK])) for i in chunks])
    return {
        "mpjpe": mpjpe(pred_joints, gt_joints, root=joint_set.root),
        "pa_mpjpe": pa_mpjpe(pred_joints, gt_joints),
        "mpjre": mpjre(pred, gt),
    }


def recall_at_k(
    similarity: torch.Tensor,
    gt_index: torch.Tensor | Sequence[int] | None = None,
    k_values: Sequence[int] = DEFAULT_K,
) -> dict[str, float]:
    """Recall@K in percent for queries (rows) ranking candidates (columns) of `similarity`
    (Nq, Nc): the share of queries whose true candidate `gt_index[q]` (default: the diagonal)
    is among the K highest scores. Ties count against the query (a candidate scoring the same
    as the true one ranks above it). Returns {"R@K": percent}."""
    if similarity.ndim != 2 or similarity.shape[0] == 0:
        raise InvalidInputError(f"similarity must be (Nq, Nc), got {tuple(similarity.shape)}")
    n_queries, n_candidates = similarity.shape
    if gt_index is None:
        if n_queries > n_candidates:
            raise InvalidInputError("without gt_index, need Nq <= Nc (the diagonal is the truth)")
        gt_index = torch.arange(n_queries)
    gt = torch.as_tensor(gt_index, dtype=torch.long, device=similarity.device)
    if gt.shape != (n_queries,) or gt.min() < 0 or gt.max() >= n_candidates:
        raise InvalidInputError(f"gt_index must be {n_queries} indices in [0, {n_candidates})")
    if any(k < 1 for k in k_values):
        raise InvalidInputError(f"k_values must be >= 1, got {tuple(k_values)}")
    true_score = similarity.gather(1, gt[:, None])
    rank = (similarity >= true_score).sum(dim=1) - 1  # candidates at or above the truth
    return {f"R@{k}": float((rank < k).double().mean()) * 100.0 for k in k_values}
