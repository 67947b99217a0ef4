"""The BlazePose fit: SMPL rotations whose bones point where the landmarks' do."""

from __future__ import annotations

import numpy as np
import pytest
import roma
import torch
from PIL import Image

from posegpt.body import load_body_model
from posegpt.body.kinematics import forward_kinematics
from posegpt.body.rotations import camera_to_y_up, geodesic_distance, identity_pose
from posegpt.body.skeleton import JOINT_INDEX
from posegpt.eval.baselines.landmark_fit import POINTS, LandmarkFit, fit_to_landmarks
from posegpt.eval.baselines.smplify import GaussianPosePrior
from posegpt.eval.items import ImageSet, LazyImages, TrainData
from posegpt.eval.metrics import pa_mpjpe
from posegpt.model.pose_tower.detector import NUM_LANDMARKS
from posegpt.model.pose_tower.landmarks import LANDMARK_INDEX, LIMB_JOINTS
from posegpt.synth.pose_families import FAMILY_INFO
from posegpt.synth.poses import check_family, template_pose

FAMILIES = ("reaching_up", "kneeling_one_knee", "sitting_chair", "bending_forward", "lunging")
#: Upright and facing the camera, in the camera frame (x right, y down, z forward).
FACING_CAMERA = torch.diag(torch.tensor([1.0, -1.0, -1.0]))


@pytest.fixture(scope="module")
def body():
    return load_body_model()


@pytest.fixture(scope="module")
def poses() -> torch.Tensor:
    """Family poses in the camera frame, turned by different yaws."""
    out = torch.stack([template_pose(check_family(f))[0] for f in FAMILIES])
    yaw = roma.rotvec_to_rotmat(torch.tensor([[0.0, a, 0.0] for a in (0, 0.6, -0.9, 2.0, 3.0)]))
    out[:, 0] = FACING_CAMERA @ yaw @ out[:, 0]
    return out


@pytest.fixture(scope="module")
def prior() -> GaussianPosePrior:
    """A prior on every family's template pose (as the training poses would give)."""
    return GaussianPosePrior.fit(torch.stack([template_pose(f)[0] for f in FAMILY_INFO.values()]))


def fake_landmarks(joints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 24, 3) SMPL joints written into BlazePose's landmark slots (the rest unseen)."""
    world = torch.zeros(len(joints), NUM_LANDMARKS, 3)
    seen = torch.zeros(len(joints), NUM_LANDMARKS)
    for smpl, marks in POINTS.values():
        if len(smpl) == 1:
            for mark in marks:
                world[:, LANDMARK_INDEX[mark]] = joints[:, JOINT_INDEX[smpl[0]]]
                seen[:, LANDMARK_INDEX[mark]] = 1.0
    return world - joints[:, :1], seen


def limb_error(a: torch.Tensor, b: torch.Tensor, body) -> torch.Tensor:
    rest = body(identity_pose(1)).joints.expand(len(a), -1, -1)
    ja, jb = (forward_kinematics(x, rest)[1][:, list(LIMB_JOINTS)] for x in (a, b))
    return pa_mpjpe(ja, jb)


def test_fit_recovers_limbs_and_the_camera_frame_root(body, poses, prior):
    world, seen = fake_landmarks(body(poses).joints)
    fitted = fit_to_landmarks(world, seen, body, prior, steps=150)
    error = limb_error(fitted, poses, body)
    mean = limb_error(prior.mean_pose().expand(len(poses), -1, -1, -1), poses, body)
    assert error.max() < 40 and error.mean() < 0.3 * mean.mean()
    root_error = torch.rad2deg(geodesic_distance(fitted[:, 0], poses[:, 0]))
    assert root_error.max() < 20  # the root is in the landmarks' (the camera's) frame


def test_unseen_landmarks_do_not_pull_the_fit(body, poses, prior):
    world, seen = fake_landmarks(body(poses[:1]).joints)
    legs = [LANDMARK_INDEX[f"left_{p}"] for p in ("knee", "ankle", "foot_index")]
    world[:, legs] = torch.randn(1, len(legs), 3) * 5  # nonsense where nothing is seen
    seen[:, legs] = 0.0
    fitted = fit_to_landmarks(world, seen, body, prior, steps=150)
    arms = [JOINT_INDEX[f"{s}_{p}"] for s in ("left", "right") for p in ("elbow", "wrist")]
    rest = body(identity_pose(1)).joints
    got, want = (forward_kinematics(x, rest)[1][0, arms] for x in (fitted, poses[:1]))
    got, want = got - got.mean(0), want - want.mean(0)
    assert (got - want).norm(dim=-1).max() < 0.08
    assert torch.isfinite(fitted).all()


def test_nobody_found_gives_the_prior_mean_and_counts_a_miss(body, poses):
    method = LandmarkFit(body, steps=5)
    method.fit(TrainData(crops=ImageSet(LazyImages([lambda: None] * len(poses)), poses)))
    blank = Image.fromarray(np.full((96, 96, 3), 128, np.uint8))
    pose = method.predict_image([blank])
    expected = camera_to_y_up(method.prior.mean_pose())  # answers in POSE_FRAME
    assert torch.allclose(pose[0], expected) and method.misses == 1
