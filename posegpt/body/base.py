"""The body-model interface: SMPL joint rotations (+ optional shape) in; mesh and joints out."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from posegpt.body.rotations import as_tensor
from posegpt.body.skeleton import NUM_JOINTS
from posegpt.errors import InvalidInputError


@dataclass
class BodyOutput:
    """A batch of posed bodies, float32, y-up, metres, in the model's own frame (anny: pelvis at
    the origin; SMPL: as the smplx package) shifted by `transl` when given.

    vertices:    (B, V, 3)
    joints:      (B, 24, 3) the SMPL joints, in `posegpt.body.skeleton.JOINT_NAMES` order
    keypoints3d: (B, 23, 3) in `posegpt.body.skeleton.KEYPOINT_NAMES` order (COCO-17 first)
    """

    vertices: torch.Tensor
    joints: torch.Tensor
    keypoints3d: torch.Tensor


class BodyModel(nn.Module):
    """Base class of the body models. Subclasses implement `_forward` and `faces`."""

    #: Short name shown to users and stored in files ("anny", "smpl").
    name: str = "body"
    #: Number of shape coefficients accepted by `forward(betas=...)` (0: shape is fixed).
    num_betas: int = 0

    @property
    def faces(self) -> torch.Tensor:
        """(F, 3) int64 triangle indices."""
        raise NotImplementedError

    def forward(
        self,
        rotmat: torch.Tensor,
        betas: torch.Tensor | None = None,
        transl: torch.Tensor | None = None,
    ) -> BodyOutput:
        """Pose the body. rotmat: (B, 24, 3, 3) or (24, 3, 3); betas: (B, num_betas) or None;
        transl: (B, 3) or None, added to every output point."""
        rotmat = as_tensor(rotmat) if not isinstance(rotmat, torch.Tensor) else rotmat.float()
        if rotmat.shape[-3:] != (NUM_JOINTS, 3, 3) or rotmat.ndim not in (3, 4):
            raise InvalidInputError(
                f"rotmat must have shape (B, 24, 3, 3) or (24, 3, 3), got {tuple(rotmat.shape)}"
            )
        if rotmat.ndim == 3:
            rotmat = rotmat[None]
        batch = rotmat.shape[0]
        if betas is not None:
            betas = betas.float()
            if betas.ndim == 1:
                betas = betas[None].expand(batch, -1)
            if betas.shape[0] != batch or betas.shape[1] > max(self.num_betas, 0):
                raise InvalidInputError(
                    f"{self.name} takes betas of shape (B, <= {self.num_betas}), "
                    f"got {tuple(betas.shape)}"
                )
        out = self._forward(rotmat, betas)
        if transl is not None:
            shift = transl.float().reshape(batch, 1, 3)
            out = BodyOutput(out.vertices + shift, out.joints + shift, out.keypoints3d + shift)
        return out

    def _forward(self, rotmat: torch.Tensor, betas: torch.Tensor | None) -> BodyOutput:
        raise NotImplementedError
