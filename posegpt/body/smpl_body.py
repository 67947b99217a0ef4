"""SmplBody: the user's own licensed SMPL model, posed by linear blend skinning in torch.

The model file (.npz or official .pkl, see `posegpt.body.smpl_file`) is never shipped with
posegpt. Outputs follow the `smplx` package exactly (`smplx.SMPL(...)(...)`, with
`joints[:, :24]`): no pelvis shift, so the pelvis sits at its rest position (about 0.2 m
below the origin for the real model) and `transl` moves everything. Keypoints are COCO-17
(face and feet points from SMPL vertices, the rest from SMPL joints) then six foot points,
in anny's order.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from posegpt.body.base import BodyModel, BodyOutput
from posegpt.body.kinematics import forward_kinematics
from posegpt.body.skeleton import JOINT_INDEX, KEYPOINT_NAMES, NUM_JOINTS
from posegpt.body.smpl_file import find_smpl_file, load_smpl_arrays

#: Most shape coefficients used (SMPL 1.1 files carry 300).
MAX_BETAS = 300

#: SMPL vertices that serve as keypoints (smplx's `vertex_ids["smplh"]`; SMPL shares them).
KEYPOINT_VERTICES: dict[str, int] = {
    "nose": 332,
    "left_eye": 2800,
    "right_eye": 6260,
    "left_ear": 583,
    "right_ear": 4071,
    "left_big_toe": 3216,
    "right_big_toe": 6617,
    "left_small_toe": 3226,
    "right_small_toe": 6624,
    "left_heel": 3387,
    "right_heel": 6787,
}


class SmplBody(BodyModel):
    """SMPL (6890 vertices, 13776 triangles) from the user's model file; see the module doc."""

    name = "smpl"

    def __init__(self, model_path: str | os.PathLike | None = None) -> None:
        """`model_path`: a model file or folder, else `SMPL_MODEL_PATH` (see `find_smpl_file`)."""
        super().__init__()
        self.path = find_smpl_file(model_path)
        a = load_smpl_arrays(self.path)
        self.num_betas = min(a["shapedirs"].shape[2], MAX_BETAS)
        shapedirs = a["shapedirs"][:, :, : self.num_betas]
        regressor = a["J_regressor"]
        num_verts = len(a["v_template"])

        def buffer(name: str, array: np.ndarray, dtype: torch.dtype = torch.float32) -> None:
            self.register_buffer(name, torch.as_tensor(array, dtype=dtype), persistent=False)

        buffer("v_template", a["v_template"].reshape(-1))  # (V*3,)
        # Pose then shape blend shapes, as rows of one matrix: (207 + K, V*3).
        blend = np.concatenate([a["posedirs"], shapedirs], axis=2).reshape(num_verts * 3, -1)
        buffer("blend_dirs", blend.T)
        buffer("lbs_weights", a["weights"])  # (V, 24)
        # Joints are linear in the shaped rest mesh: regress the template and blend shapes once.
        buffer("j_template", regressor @ a["v_template"])  # (24, 3)
        buffer("j_shapedirs", np.einsum("jv,vck->kjc", regressor, shapedirs).reshape(-1, 72))
        buffer("_faces", a["f"], torch.int64)
        vertex_names = list(KEYPOINT_VERTICES)
        buffer("_kp_vertices", [KEYPOINT_VERTICES[n] for n in vertex_names], torch.int64)
        # Index into cat(keypoint vertices, joints) in KEYPOINT_NAMES order.
        kp_index = [
            vertex_names.index(n) if n in vertex_names else len(vertex_names) + JOINT_INDEX[n]
            for n in KEYPOINT_NAMES
        ]
        buffer("_kp_index", kp_index, torch.int64)

    @property
    def faces(self) -> torch.Tensor:
        return self._faces

    def _forward(self, rotmat: torch.Tensor, betas: torch.Tensor | None) -> BodyOutput:
        batch = rotmat.shape[0]
        eye = torch.eye(3, dtype=rotmat.dtype, device=rotmat.device)
        features = (rotmat[:, 1:] - eye).reshape(batch, -1)  # pose blend-shape features
        j_rest = self.j_template.expand(batch, -1, -1)
        if betas is not None:
            features = torch.cat([features, betas], dim=1)
            j_rest = j_rest + (betas @ self.j_shapedirs[: betas.shape[1]]).view(batch, -1, 3)
        # Rest mesh plus shape and pose blend shapes, in one product.
        blend = self.blend_dirs[: features.shape[1]]
        v_posed = torch.addmm(self.v_template, features, blend).view(batch, -1, 3)

        rot, joints = forward_kinematics(rotmat, j_rest)
        # Skinning transform of each joint: x -> rot @ (x - rest joint) + posed joint.
        offset = joints - (rot @ j_rest[..., None])[..., 0]
        transforms = torch.cat([rot, offset[..., None]], dim=-1).reshape(batch, NUM_JOINTS, 12)
        per_vertex = (self.lbs_weights @ transforms).view(batch, -1, 3, 4)
        vertices = (per_vertex[..., :3] @ v_posed[..., None])[..., 0] + per_vertex[..., 3]

        keypoints = torch.cat([vertices[:, self._kp_vertices], joints], dim=1)[:, self._kp_index]
        return BodyOutput(vertices, joints, keypoints)
