"""The pose head (`<POSE>`'s last hidden state -> 24 SMPL joint rotations) and its loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from posegpt.body.rotations import rotmat_to_6d, sixd_to_rotmat
from posegpt.body.skeleton import NUM_JOINTS

#: Starting bias of the keep gates: an untrained gate keeps 1.8% of the pose being changed.
KEEP_BIAS = -4.0


class PoseHead(nn.Module):
    """MLP hidden -> head_hidden -> 24 x 6D, then Gram-Schmidt to (24, 3, 3) rotation matrices.

    The last layer starts at zero weight with the identity's 6D as bias, so an untrained head
    predicts the T-pose rather than random rotations. With `keeps_source`, an answer that
    changes a pose (the last input pose before its `<POSE>`: "now raise the left arm") also has
    a gate per joint, read from the same hidden state, that blends the joint's predicted 6D
    towards that pose's: an edit can keep what it does not change exactly.
    """

    def __init__(self, hidden_size: int, head_hidden: int, keeps_source: bool = False) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(hidden_size, head_hidden), nn.GELU(), nn.Linear(head_hidden, NUM_JOINTS * 6)
        )
        out = self.mlp[-1]
        nn.init.zeros_(out.weight)
        with torch.no_grad():
            out.bias.copy_(rotmat_to_6d(torch.eye(3)).repeat(NUM_JOINTS))
        self.keep = nn.Linear(hidden_size, NUM_JOINTS) if keeps_source else None
        if self.keep is not None:
            nn.init.zeros_(self.keep.weight)
            nn.init.constant_(self.keep.bias, KEEP_BIAS)

    def forward(self, hidden: torch.Tensor, source: torch.Tensor | None = None) -> torch.Tensor:
        """(N, hidden_size) -> (N, 24, 3, 3) float32 rotation matrices. `source` (N, 24, 3, 3):
        the pose each answer changes, all zeros where there is none (used with `keeps_source`)."""
        hidden = hidden.to(self.mlp[0].weight.dtype)
        sixd = self.mlp(hidden).float().reshape(-1, NUM_JOINTS, 6)
        if self.keep is not None and source is not None:
            source = source.to(sixd)
            present = source.flatten(1).abs().sum(1) > 0
            keep = torch.sigmoid(self.keep(hidden).float()) * present[:, None]
            sixd = sixd + keep[..., None] * (rotmat_to_6d(source) - sixd)
        return sixd_to_rotmat(sixd)


def pose_loss(pred_rotmat: torch.Tensor, target_rotmat: torch.Tensor) -> torch.Tensor:
    """Mean L1 distance between predicted and true rotation matrices (0 when there are none).

    With no targets the result is still connected to the prediction, so every head parameter
    takes part in the backward pass (distributed training requires it).
    """
    if len(target_rotmat) == 0:
        return pred_rotmat.sum() * 0.0
    return F.l1_loss(pred_rotmat, target_rotmat.to(pred_rotmat))
