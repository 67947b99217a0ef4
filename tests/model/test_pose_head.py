"""The pose head (hidden state -> 24 rotation matrices) and its L1 loss."""

from __future__ import annotations

import torch

from posegpt.model.pose_head import PoseHead, pose_loss


def test_an_untrained_head_predicts_the_t_pose():
    head = PoseHead(16, 8)
    rotmat = head(torch.randn(5, 16))
    assert rotmat.shape == (5, 24, 3, 3) and rotmat.dtype == torch.float32
    assert torch.allclose(rotmat, torch.eye(3).expand(5, 24, 3, 3), atol=1e-6)


def test_any_head_gives_rotations_even_from_bf16_states():
    torch.manual_seed(0)
    head = PoseHead(16, 8)
    torch.nn.init.normal_(head.mlp[-1].weight)
    rotmat = head(torch.randn(4, 16).to(torch.bfloat16))
    assert rotmat.dtype == torch.float32
    eye = torch.eye(3).expand_as(rotmat)
    assert torch.allclose(rotmat @ rotmat.transpose(-1, -2), eye, atol=1e-5)
    assert torch.allclose(torch.linalg.det(rotmat), torch.ones(4, 24), atol=1e-5)
    assert not torch.allclose(rotmat, eye, atol=1e-2)


def test_pose_loss_is_the_mean_l1_between_matrices():
    target = torch.eye(3).expand(2, 24, 3, 3)
    pred = target.clone()
    assert pose_loss(pred, target) == 0
    pred[0, 0, 0, 0] += 0.9  # one entry of 2 x 24 x 9
    assert torch.isclose(pose_loss(pred, target), torch.tensor(0.9 / (2 * 24 * 9)))


def test_no_targets_give_zero_loss_that_still_reaches_every_head_parameter():
    head = PoseHead(16, 8)
    loss = pose_loss(head(torch.randn(0, 16)), torch.empty(0, 24, 3, 3))
    assert loss == 0
    loss.backward()
    assert all(p.grad is not None for p in head.parameters())
