"""The pose head (hidden state -> 24 rotation matrices) and its L1 loss."""

from __future__ import annotations

import roma
import torch

from posegpt.model.pose_head import PoseHead, answered_joints, keep_loss, pose_loss


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


def test_a_head_with_keep_gates_answers_the_joints_that_move():
    """In an answer that changes a pose the head is trained on the joints the true answer moves
    (the gates keep the rest); in one with no pose to change, on every joint."""
    source = roma.random_rotmat(3 * 24).reshape(3, 24, 3, 3)
    source[2] = 0  # no pose to change
    target = source.clone()
    target[:, [4, 18]] = roma.random_rotmat(3 * 2).reshape(3, 2, 3, 3)
    joints = answered_joints(source, target)
    assert joints[:2].sum(1).tolist() == [2.0, 2.0] and joints[:2, [4, 18]].all()
    assert joints[2].all()
    pred = target.clone()
    pred[0, 0] = -pred[0, 0]  # a kept joint wrong: the gates answer it, not the head
    assert pose_loss(pred, target, joints) == 0 and pose_loss(pred, target) > 0
    pred[0, 4, 0, 0] += 0.9  # a moved joint wrong: the mean over the 2 + 2 + 24 answered joints
    assert torch.isclose(pose_loss(pred, target, joints), torch.tensor(0.9 / 9 / 28))


def test_no_targets_give_zero_loss_that_still_reaches_every_head_parameter():
    head = PoseHead(16, 8)
    loss = pose_loss(head(torch.randn(0, 16)), torch.empty(0, 24, 3, 3))
    assert loss == 0
    loss.backward()
    assert all(p.grad is not None for p in head.parameters())


def test_keep_gates_learn_which_joints_an_answer_keeps_from_their_own_loss():
    """The gates' target is the joints the true answer leaves as they were; the pose loss does not
    reach them, answers with no pose to change add nothing to their loss, and an answer keeps
    exactly the joints whose gate is above the threshold."""
    torch.manual_seed(0)
    head = PoseHead(16, 32, keep_threshold=0.8)
    hidden = torch.randn(6, 16)
    source = roma.random_rotmat(6 * 24).reshape(6, 24, 3, 3)
    source[5] = 0  # no pose to change
    target = source.clone()
    moved = [2, 7, 16]
    target[:, moved] = roma.random_rotmat(6 * 3).reshape(6, 3, 3, 3)
    pose_loss(head(hidden, source), target).backward()
    assert head.keep.weight.grad is None
    assert head.mlp[-1].weight.grad.abs().sum() > 0
    first = keep_loss(head, hidden, source, target)
    assert torch.isclose(first, keep_loss(head, hidden[:5], source[:5], target[:5]))
    own = head(hidden)
    assert torch.equal(head(hidden, source), own)  # shut gates: the head's own answer
    optimizer = torch.optim.Adam(head.keep.parameters(), lr=0.1)
    for _ in range(100):
        optimizer.zero_grad()
        loss = keep_loss(head, hidden, source, target)
        loss.backward()
        optimizer.step()
    assert loss < 0.1 * first
    gates = torch.sigmoid(head.keep(hidden))
    assert gates[:5, moved].max() < 0.2
    kept = [j for j in range(24) if j not in moved]
    assert gates[:5, kept].min() > 0.8
    answer = head(hidden, source)
    assert torch.equal(answer[:5, kept], source[:5, kept])
    assert torch.equal(answer[:5, moved], own[:5, moved])
    assert torch.equal(answer[5], own[5])  # nothing to keep
    nothing = keep_loss(head, hidden, torch.zeros_like(source), target)
    assert nothing == 0 and nothing.requires_grad
