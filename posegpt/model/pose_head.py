"""The pose head (`<POSE>`'s last hidden state -> 24 SMPL joint rotations) and its loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from posegpt.body.rotations import rotmat_to_6d, sixd_to_rotmat
from posegpt.body.skeleton import NUM_JOINTS


class PoseHead(nn.Module):
    """MLP hidden -> head_hidden -> 24 x 6D, then Gram-Schmidt to (24, 3, 3) rotation matrices.

    The last layer starts at zero weight with the identity's 6D as bias, so an untrained head
    predicts the T-pose rather than random rotations.
    """

    def __init__(self, hidden_size: int, head_hidden: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(hidden_size, head_hidden), nn.GELU(), nn.Linear(head_hidden, NUM_JOINTS * 6)
        )
        out = self.mlp[-1]
        nn.init.zeros_(out.weight)
        with torch.no_grad():
            out.bias.copy_(rotmat_to_6d(torch.eye(3)).repeat(NUM_JOINTS))

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """(N, hidden_size) -> (N, 24, 3, 3) float32 rotation matrices."""
        sixd = self.mlp(hidden.to(self.mlp[0].weight.dtype)).float()
        return sixd_to_rotmat(sixd.reshape(-1, NUM_JOINTS, 6))


def pose_loss(pred_rotmat: torch.Tensor, target_rotmat: torch.Tensor) -> torch.Tensor:
    """Mean L1 distance between predicted and true rotation matrices (0 when there are none).

    With no targets the result is still connected to the prediction, so every head parameter
    takes part in the backward pass (distributed training requires it).
    """
    if len(target_rotmat) == 0:
        return pred_rotmat.sum() * 0.0
    return F.l1_loss(pred_rotmat, target_rotmat.to(pred_rotmat))
