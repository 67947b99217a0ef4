"""SmplBody against the reference `smplx` implementation on the same (fake) SMPL file: the same
vertices and joints for random poses and shapes. Skipped when smplx is not installed (it is not
a dependency: `pip install smplx`, non-commercial licence)."""

from __future__ import annotations

import numpy as np
import pytest
import roma
import torch

from posegpt.body.fake_smpl import write_fake_smpl_npz
from posegpt.body.smpl_body import SmplBody

smplx = pytest.importorskip("smplx")


def test_smpl_body_matches_smplx(tmp_path):
    from smplx.utils import Struct

    path = write_fake_smpl_npz(tmp_path / "SMPL_NEUTRAL.npz")
    ours = SmplBody(path)
    with np.load(path) as npz:  # smplx reads only .pkl itself: hand it the arrays
        theirs = smplx.SMPLLayer(model_path=str(path), data_struct=Struct(**dict(npz)))
    torch.manual_seed(0)
    rotmat = roma.rotvec_to_rotmat(0.5 * torch.randn(8, 24, 3))
    betas = torch.randn(8, ours.num_betas)
    with torch.no_grad():
        a = ours(rotmat, betas)
        b = theirs(betas=betas, global_orient=rotmat[:, :1], body_pose=rotmat[:, 1:])
    assert torch.allclose(a.vertices, b.vertices, atol=1e-5)
    assert torch.allclose(a.joints, b.joints[:, :24], atol=1e-5)
