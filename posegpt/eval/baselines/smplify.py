"""SMPLify-style fitting: the 3D pose whose projected COCO-17 keypoints match given 2D ones.

Energy (per body, minimised with Adam over 6D joint rotations and the body's translation):

    sum_k w_k |project(keypoint_k) - x_k|^2 / sigma^2          2D keypoints (sigma: pixels)
  + prior_weight * Mahalanobis^2 of the body joints' axis-angle  (a Gaussian fitted to
                                                                  training poses)
  + limit_weight * sum_j (excess over joint j's limits, rad)^2   (`posegpt.body.limits`)

The first third of the steps moves only the global orientation and translation to fit the
torso keypoints (the pose held at the prior's mean, the depth held near its similar-triangles
estimate), as SMPLify first fits the camera. Everything is batched over bodies.
Poses are in the camera frame (x right, y down, z forward), as in HMR data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from posegpt.body.base import BodyModel
from posegpt.body.limits import limit_violation
from posegpt.body.prior import GaussianPosePrior
from posegpt.body.rotations import rotmat_to_6d, sixd_to_rotmat
from posegpt.errors import InvalidInputError
from posegpt.render.camera import Camera

NUM_KEYPOINTS = 17
#: The crop camera of HMR / SPIN: 224-pixel crops seen with a 5000-pixel focal length.
CROP_PIXELS, CROP_FOCAL = 224, 5000.0
#: COCO-17 shoulders and hips: the keypoints the camera stage fits.
TORSO = (5, 6, 11, 12)
#: Weight of the relative depth change in the camera stage.
DEPTH_WEIGHT = 100.0
#: Learning rate of the translation (relative to the depth) over that of the rotations.
OFFSET_LR = 0.1
#: COCO-17 keypoint pairs of rigid segments (limbs, torso sides, shoulders, hips).
SEGMENTS = (
    (5, 7), (7, 9), (6, 8), (8, 10), (11, 13), (13, 15), (12, 14), (14, 16),
    (5, 11), (6, 12), (5, 6), (11, 12),
)  # fmt: skip


def crop_camera(size: int = CROP_PIXELS, focal: float = CROP_FOCAL) -> Camera:
    """The camera of a person crop: at the origin, looking along +z, principal point centred."""
    return Camera(focal, size, size, np.eye(3), np.zeros(3))


@dataclass
class KeypointFit:
    """Fitted poses (B, 24, 3, 3), translations (B, 3) in the camera frame, and the mean
    reprojection error of the weighted keypoints (B,) in pixels."""

    rotmat: torch.Tensor
    transl: torch.Tensor
    error_px: torch.Tensor


def project(points: torch.Tensor, camera: Camera) -> torch.Tensor:
    """(B, K, 3) world points -> (B, K, 2) pixels through `camera` (differentiable)."""
    rotation = torch.as_tensor(camera.rotation, dtype=points.dtype)
    position = torch.as_tensor(camera.position, dtype=points.dtype)
    cam = (points - position) @ rotation.T
    depth = cam[..., 2:].clamp(min=1e-3)
    return camera.focal * cam[..., :2] / depth + torch.tensor(camera.center, dtype=points.dtype)


def _check_keypoints(keypoints: torch.Tensor) -> torch.Tensor:
    keypoints = torch.as_tensor(keypoints, dtype=torch.float32)
    if (
        keypoints.ndim != 3
        or keypoints.shape[1] != NUM_KEYPOINTS
        or keypoints.shape[2] not in (2, 3)
    ):
        raise InvalidInputError(
            f"keypoints must be (B, 17, 2) or (B, 17, 3) COCO-17, got {tuple(keypoints.shape)}"
        )
    if not torch.isfinite(keypoints).all():
        raise InvalidInputError("keypoints contain NaN or infinite values")
    if keypoints.shape[2] == 2:
        keypoints = torch.cat([keypoints, torch.ones_like(keypoints[..., :1])], dim=-1)
    return keypoints


def _initial_translation(
    points: torch.Tensor, uv: torch.Tensor, weight: torch.Tensor, camera: Camera
) -> torch.Tensor:
    """Translation (B, 3) that puts the bodies' keypoints `points` (B, K, 3) centred on the
    weighted 2D keypoints `uv`, at a depth from similar triangles on the limb segments:
    a segment never looks longer than when it is square to the view, so the depth is the
    smallest focal x (3D length / 2D length) over the segments seen."""
    w = weight[..., None] / weight.sum(dim=1).clamp(min=1e-6)[:, None, None]
    centre2d, centre3d = (w * uv).sum(dim=1), (w * points).sum(dim=1)
    a, b = (list(ends) for ends in zip(*SEGMENTS, strict=True))
    length3d = (points[:, a] - points[:, b]).norm(dim=-1)
    length2d = (uv[:, a] - uv[:, b]).norm(dim=-1)
    seen = (weight[:, a] > 0) & (weight[:, b] > 0) & (length2d > 1.0)
    ratio = torch.where(seen, length3d / length2d.clamp(min=1.0), torch.inf).amin(dim=1)
    depth = camera.focal * torch.where(torch.isfinite(ratio), ratio, 1.0)
    xy = (centre2d - torch.tensor(camera.center)) * depth[:, None] / camera.focal
    return torch.cat([xy - centre3d[:, :2], (depth - centre3d[:, 2])[:, None]], dim=1)


def fit_pose_to_keypoints2d(
    keypoints: torch.Tensor,
    camera: Camera,
    body: BodyModel,
    prior: GaussianPosePrior,
    steps: int = 200,
    lr: float = 0.03,
    sigma_px: float | None = None,
    prior_weight: float = 1.0,
    limit_weight: float = 10.0,
) -> KeypointFit:
    """Fit poses to 2D COCO-17 keypoints (B, 17, 2) or (B, 17, 3) with weights (visibility /
    confidence) in the last column, seen by `camera`; see the module docstring. `sigma_px` is the
    keypoint noise assumed (default 2% of the image height)."""
    keypoints = _check_keypoints(keypoints)
    if steps < 3:
        raise InvalidInputError(f"steps must be >= 3, got {steps}")
    sigma = sigma_px or 0.02 * camera.height
    batch = len(keypoints)
    uv, weight = keypoints[..., :2], keypoints[..., 2].clamp(min=0.0)
    start = prior.mean_pose().expand(batch, -1, -1, -1)
    with torch.no_grad():
        points = body(start).keypoints3d[:, :NUM_KEYPOINTS]
        transl0 = _initial_translation(points, uv, weight, camera)
    scale = transl0[:, 2:].abs().clamp(min=1e-3)  # optimise translation relative to the depth
    root6d = rotmat_to_6d(start[:, 0]).clone().requires_grad_(True)
    body6d = rotmat_to_6d(start[:, 1:]).clone().requires_grad_(True)
    offset = (transl0 / scale).clone().requires_grad_(True)
    start_depth = offset[:, 2].detach().clone()
    torso = torch.zeros_like(weight)
    torso[:, list(TORSO)] = weight[:, list(TORSO)]
    camera_steps = steps // 3
    for step in range(steps):
        if step in (0, camera_steps):
            groups = [{"params": [root6d]}, {"params": [offset], "lr": lr * OFFSET_LR}]
            if step == camera_steps:
                groups.append({"params": [body6d]})
            optimizer = torch.optim.Adam(groups, lr=lr)
        rotmat = sixd_to_rotmat(torch.cat([root6d[:, None], body6d], dim=1))
        if step < camera_steps:  # SMPLify's camera stage: torso only, depth held near its guess
            energy = _reprojection_energy(rotmat, offset * scale, uv, torso, camera, body, sigma)
            energy = energy + DEPTH_WEIGHT * (offset[:, 2] - start_depth).pow(2)
        else:
            energy = _reprojection_energy(rotmat, offset * scale, uv, weight, camera, body, sigma)
            energy = energy + prior_weight * prior.energy(rotmat)
            energy = energy + limit_weight * _limit_energy(rotmat)
        optimizer.zero_grad()
        energy.sum().backward()
        optimizer.step()
    with torch.no_grad():
        rotmat = sixd_to_rotmat(torch.cat([root6d[:, None], body6d], dim=1))
        transl = offset * scale
        projected = project(body(rotmat).keypoints3d[:, :NUM_KEYPOINTS] + transl[:, None], camera)
        error = (weight * (projected - uv).norm(dim=-1)).sum(1) / weight.sum(1).clamp(min=1e-6)
    return KeypointFit(rotmat, transl, error)


def _reprojection_energy(
    rotmat: torch.Tensor,
    transl: torch.Tensor,
    uv: torch.Tensor,
    weight: torch.Tensor,
    camera: Camera,
    body: BodyModel,
    sigma: float,
) -> torch.Tensor:
    """(B,) weighted squared keypoint distances over sigma^2."""
    points = body(rotmat).keypoints3d[:, :NUM_KEYPOINTS] + transl[:, None]
    residual = ((project(points, camera) - uv) ** 2).sum(dim=-1)
    return (weight * residual).sum(dim=1) / sigma**2


def _limit_energy(rotmat: torch.Tensor) -> torch.Tensor:
    """(B,) sum of squared joint-limit excesses, radians."""
    return torch.deg2rad(limit_violation(rotmat)).pow(2).sum(dim=-1)
