"""Pose metrics on hand-checked cases."""

from __future__ import annotations

import math

import pytest
import roma
import torch

from posegpt.body.rotations import identity_pose
from posegpt.errors import InvalidInputError
from posegpt.eval.metrics import mpjpe, mpjre, pa_mpjpe, pose_errors, recall_at_k


@pytest.fixture
def joints() -> torch.Tensor:
    torch.manual_seed(0)
    return torch.randn(3, 24, 3) * 0.3


def test_identical_joints_have_zero_error(joints):
    assert torch.allclose(mpjpe(joints, joints), torch.zeros(3))
    assert torch.allclose(pa_mpjpe(joints, joints), torch.zeros(3), atol=1e-6)


def test_translation_vanishes_after_pelvis_alignment(joints):
    moved = joints + torch.tensor([0.5, -1.0, 2.0])
    assert torch.allclose(mpjpe(moved, joints), torch.zeros(3), atol=1e-4)
    assert torch.allclose(
        mpjpe(moved, joints, align=None), torch.full((3,), 1000 * math.sqrt(5.25))
    )


def test_global_rotation_counts_for_mpjpe_not_pa_mpjpe(joints):
    turn = roma.rotvec_to_rotmat(torch.tensor([0.0, 0.7, 0.3]))
    turned = joints @ turn.T
    assert (mpjpe(turned, joints) > 50).all()
    assert torch.allclose(pa_mpjpe(turned, joints), torch.zeros(3), atol=1e-3)


def test_scale_vanishes_after_procrustes(joints):
    assert (mpjpe(1.3 * joints, joints) > 10).all()
    assert torch.allclose(pa_mpjpe(1.3 * joints + 0.2, joints), torch.zeros(3), atol=1e-3)


def test_one_joint_moved_10mm_gives_10_over_24(joints):
    moved = joints.clone()
    moved[:, 7] += torch.tensor([0.006, 0.0, -0.008])  # 10 mm
    assert torch.allclose(mpjpe(moved, joints), torch.full((3,), 10 / 24), atol=1e-4)
    assert (pa_mpjpe(moved, joints) > 0.1).all()  # alignment cannot absorb a lone joint


def test_one_joint_rotated_half_radian():
    gt = identity_pose(2)
    pred = gt.clone()
    pred[:, 5] = roma.rotvec_to_rotmat(torch.tensor([0.0, 0.0, 0.5]))
    assert torch.allclose(mpjre(pred, gt), torch.full((2,), 0.5 / 24 * 100), atol=1e-4)
    assert torch.allclose(mpjre(gt, gt), torch.zeros(2))


def test_mismatched_shapes_are_rejected(joints):
    with pytest.raises(InvalidInputError):
        mpjpe(joints, joints[:, :10])
    with pytest.raises(InvalidInputError):
        mpjpe(joints, joints, align="hips")


def test_pose_errors_use_the_body_on_both_sides():
    from posegpt.body import load_body_model

    body = load_body_model()
    gt = identity_pose(2)
    pred = gt.clone()
    pred[:, 0] = roma.rotvec_to_rotmat(torch.tensor([0.0, 1.0, 0.0]))  # turn the whole body
    errors = pose_errors(pred, gt, body)
    assert set(errors) == {"mpjpe", "pa_mpjpe", "mpjre"}
    assert (errors["mpjpe"] > 50).all()
    assert torch.allclose(errors["pa_mpjpe"], torch.zeros(2), atol=1e-2)
    assert torch.allclose(errors["mpjre"], torch.full((2,), 100 / 24), atol=1e-3)


def test_recall_on_a_hand_made_similarity():
    sim = torch.tensor(
        [
            [0.9, 0.1, 0.2, 0.3],  # truth 0 ranks 1st
            [0.8, 0.5, 0.9, 0.1],  # truth 1 ranks 3rd
            [0.1, 0.2, 0.3, 0.4],  # truth 2 ranks 2nd
            [0.7, 0.7, 0.1, 0.7],  # truth 3 ties with two others: ranks 3rd
        ]
    )
    assert recall_at_k(sim, k_values=(1, 2, 3)) == {"R@1": 25.0, "R@2": 50.0, "R@3": 100.0}
    assert recall_at_k(sim, gt_index=[2, 2, 3, 0], k_values=(1,)) == {"R@1": 50.0}
    with pytest.raises(InvalidInputError):
        recall_at_k(sim, gt_index=[0, 1, 2, 4])
