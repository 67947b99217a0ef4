"""The pose head (`<POSE>`'s last hidden state -> 24 SMPL joint rotations) and its loss."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from posegpt.body.rotations import geodesic_distance, rotmat_to_6d, sixd_to_rotmat
from posegpt.body.skeleton import NUM_JOINTS

#: Starting bias of the keep gates: an untrained gate gives 1.8% (keeps nothing).
KEEP_BIAS = -4.0
#: A joint that an answer leaves within this angle of the pose it changes is one it keeps: the
#: target of that joint's gate.
KEEP_ANGLE = math.radians(1.0)


class PoseHead(nn.Module):
    """MLP hidden -> head_hidden -> 24 x 6D, then Gram-Schmidt to (24, 3, 3) rotation matrices.

    The last layer starts at zero weight with the identity's 6D as bias, so an untrained head
    predicts the T-pose rather than random rotations. With `photo_head`, answers in a
    conversation with a picture come from a second MLP of the same shape (`photo_mlp`), so that
    the answers to words can be refitted without moving those to photos (`posegpt refit-head`).
    With a `keep_threshold`, an answer that changes a pose (the last input pose before its
    `<POSE>`: "now raise the left arm") also has a gate per joint, read from the same hidden
    state: where its probability is above the threshold, the answer keeps that joint of the
    pose exactly. The head is trained on its own answer (`pose_loss`): in an answer that
    changes a pose, on the joints the true answer moves (`answered_joints`: the gates keep the
    rest), elsewhere on every joint. The gates are trained apart, on which joints the true
    answer keeps (`keep_loss`): trained through the answer, they would pull every joint
    towards the source wherever the head's answer is worse than leaving it.
    """

    def __init__(
        self,
        hidden_size: int,
        head_hidden: int,
        keep_threshold: float | None = None,
        photo_head: bool = False,
    ) -> None:
        super().__init__()
        self.mlp = _answer_mlp(hidden_size, head_hidden)
        self.photo_mlp = _answer_mlp(hidden_size, head_hidden) if photo_head else None
        self.keep_threshold = keep_threshold
        self.keep = nn.Linear(hidden_size, NUM_JOINTS) if keep_threshold is not None else None
        if self.keep is not None:
            nn.init.zeros_(self.keep.weight)
            nn.init.constant_(self.keep.bias, KEEP_BIAS)

    def forward(
        self,
        hidden: torch.Tensor,
        source: torch.Tensor | None = None,
        pictured: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(N, hidden_size) -> (N, 24, 3, 3) float32 rotation matrices. `source` (N, 24, 3, 3):
        the pose each answer changes, all zeros where there is none (used with keep gates);
        `pictured` (N,): True for answers in a conversation with a picture (used with a photo
        head; none given: no answer is)."""
        hidden = hidden.to(self.mlp[0].weight.dtype)
        sixd = self.mlp(hidden)
        if self.photo_mlp is not None and pictured is not None and bool(pictured.any()):
            sixd = torch.where(pictured.to(hidden.device)[:, None], self.photo_mlp(hidden), sixd)
        rotmat = sixd_to_rotmat(sixd.float().reshape(-1, NUM_JOINTS, 6))
        if self.keep is None or source is None:
            return rotmat
        source = source.to(rotmat)
        keep = torch.sigmoid(self.keep(hidden).float()) > self.keep_threshold
        keep &= has_pose(source)[:, None]
        return torch.where(keep[..., None, None], source, rotmat)


def _answer_mlp(hidden_size: int, head_hidden: int) -> nn.Sequential:
    """hidden -> head_hidden -> 24 x 6D, answering the identity (T-pose) until trained."""
    mlp = nn.Sequential(
        nn.Linear(hidden_size, head_hidden), nn.GELU(), nn.Linear(head_hidden, NUM_JOINTS * 6)
    )
    nn.init.zeros_(mlp[-1].weight)
    with torch.no_grad():
        mlp[-1].bias.copy_(rotmat_to_6d(torch.eye(3)).repeat(NUM_JOINTS))
    return mlp


def has_pose(poses: torch.Tensor) -> torch.Tensor:
    """(N,) True for each (24, 3, 3) pose that is not all zeros (zeros: no pose)."""
    return poses.flatten(1).abs().sum(1) > 0


def kept_joints(source: torch.Tensor, target_rotmat: torch.Tensor) -> torch.Tensor:
    """(N, 24) True at each joint an answer keeps: within `KEEP_ANGLE` of the pose it changes."""
    return geodesic_distance(source.float(), target_rotmat.to(source.device).float()) < KEEP_ANGLE


def answered_joints(source: torch.Tensor, target_rotmat: torch.Tensor) -> torch.Tensor:
    """(N, 24) 1.0 at the joints a head with keep gates answers itself: those the true answer
    moves in answers that change a pose (the gates keep the rest), every joint elsewhere."""
    return (~(kept_joints(source, target_rotmat) & has_pose(source)[:, None])).float()


def keep_loss(
    head: PoseHead, hidden: torch.Tensor, source: torch.Tensor, target_rotmat: torch.Tensor
) -> torch.Tensor:
    """Binary cross-entropy of the keep gates against the joints each true answer keeps (within
    `KEEP_ANGLE` of its source), over the answers that change a pose; 0 when none does (still
    connected to the gates, as `pose_loss`)."""
    logits = head.keep(hidden.to(head.keep.weight.dtype)).float()
    rows = has_pose(source)
    if not bool(rows.any()):
        return logits.sum() * 0.0
    kept = kept_joints(source[rows], target_rotmat[rows]).float()
    return F.binary_cross_entropy_with_logits(logits[rows], kept)


def head_losses(
    head: PoseHead,
    hidden: torch.Tensor,
    source: torch.Tensor | None,
    target_rotmat: torch.Tensor,
    pictured: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """What training reads from the head: its own answers (N, 24, 3, 3), their `pose_loss` and,
    with keep gates, the gates' `keep_loss` (else None). With keep gates an answer that changes
    a pose (`source`, zeros for none) counts in the pose loss on the joints it moves only.
    `pictured`: as in `PoseHead.forward`."""
    pred = head(hidden, pictured=pictured)
    if head.keep is None:
        return pred, pose_loss(pred, target_rotmat), None
    answered = answered_joints(source, target_rotmat)
    gates = keep_loss(head, hidden, source, target_rotmat)
    return pred, pose_loss(pred, target_rotmat, answered), gates


def pose_loss(
    pred_rotmat: torch.Tensor, target_rotmat: torch.Tensor, joints: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean L1 distance between predicted and true rotation matrices (0 when there are none);
    with `joints` (N, 24) weights, the mean over the weighted joints only (`answered_joints`).

    With no targets the result is still connected to the prediction, so every head parameter
    takes part in the backward pass (distributed training requires it).
    """
    if len(target_rotmat) == 0:
        return pred_rotmat.sum() * 0.0
    target_rotmat = target_rotmat.to(pred_rotmat)
    if joints is None:
        return F.l1_loss(pred_rotmat, target_rotmat)
    error = (pred_rotmat - target_rotmat).abs().mean((-2, -1))
    joints = joints.to(error)
    return (error * joints).sum() / joints.sum().clamp(min=1.0)
