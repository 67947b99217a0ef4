"""Literature protocols: the joint sets each benchmark scores, and retrieval over the whole split
and over 32-candidate pools, on hand-checked cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posegpt.body.base import BodyOutput
from posegpt.body.fake_smpl import write_fake_smpl_npz
from posegpt.body.rotations import axis_angle_to_rotmat
from posegpt.body.smpl_body import SmplBody
from posegpt.errors import InvalidInputError, ModelFileError
from posegpt.eval.metrics import (
    H36M17_TO_J14,
    SMPL22,
    SMPL24,
    h36m14,
    load_joint_regressor,
    mpjpe,
    pose_errors,
)
from posegpt.eval.retrieval import pool_recalls, retrieval_recalls


@pytest.fixture(scope="module")
def body(tmp_path_factory) -> SmplBody:
    return SmplBody(write_fake_smpl_npz(tmp_path_factory.mktemp("smpl") / "SMPL_NEUTRAL.npz"))


def test_rpe_joint_set_ignores_the_hands(body):
    gt = axis_angle_to_rotmat(torch.zeros(2, 72))
    pred = gt.clone()
    # bend the wrists (20, 21): only the hand joints (22, 23) move
    pred[:, 20:22] = axis_angle_to_rotmat(torch.full((2, 72), 0.8))[:, 20:22]
    assert (pose_errors(pred, gt, body, SMPL22)["mpjpe"] < 1e-3).all()
    assert (pose_errors(pred, gt, body, SMPL24)["mpjpe"] > 1).all()


def test_h36m14_regresses_the_mesh_and_roots_at_mid_hips(body):
    vertices = torch.randn(2, 6890, 3)
    regressor = np.zeros((17, 6890), np.float32)
    regressor[np.arange(17), np.arange(17) * 100] = 1.0  # joint j = vertex 100 j
    joints = h36m14(regressor).select(BodyOutput(vertices, torch.zeros(2, 24, 3), None))
    expected = vertices[:, [100 * j for j in H36M17_TO_J14]]
    torch.testing.assert_close(joints, expected)
    # moving every joint except the hips' midpoint changes nothing after root alignment
    moved = joints + torch.tensor([0.3, 0.0, -0.2])
    assert (mpjpe(moved, joints, root=(2, 3)) < 1e-3).all()
    errors = pose_errors(
        axis_angle_to_rotmat(torch.zeros(1, 72)),
        axis_angle_to_rotmat(torch.full((1, 72), 0.2)),
        body,
        h36m14(regressor),
    )
    assert errors["mpjpe"].item() > 0
    with pytest.raises(InvalidInputError, match="6890"):
        h36m14(np.ones((17, 10))).select(BodyOutput(vertices, torch.zeros(2, 24, 3), None))
    with pytest.raises(InvalidInputError, match=r"\(17, V\)"):
        h36m14(np.ones((24, 6890)))


def test_regressor_file_is_read_without_pickle(tmp_path):
    np.save(tmp_path / "J_regressor_h36m.npy", np.eye(17, 6890, dtype=np.float32))
    assert load_joint_regressor(tmp_path / "J_regressor_h36m.npy").root == (2, 3)
    np.save(tmp_path / "evil.npy", np.array([{"a": 1}], dtype=object))
    with pytest.raises(ModelFileError, match="evil.npy"):
        load_joint_regressor(tmp_path / "evil.npy")


def test_pool_and_whole_split_recalls():
    n = 40
    text = torch.eye(n)
    perfect = pool_recalls(text, text.clone(), 32, seed=0)
    assert perfect == dict.fromkeys(
        [f"{d}_R@{k}" for d in ("t2p", "p2t") for k in (1, 5, 10)], 100.0
    )
    # every partner scores lowest: last in its pool of 32, so never in the top 10
    assert all(v == 0.0 for v in pool_recalls(text, -text, 32, seed=0).values())
    # noisy partners: fewer distractors in a pool of 32 than in the whole split of 400
    generator = torch.Generator().manual_seed(0)
    text = torch.nn.functional.normalize(torch.randn(400, 16, generator=generator), dim=1)
    pose = torch.nn.functional.normalize(text + torch.randn(400, 16, generator=generator), dim=1)
    split = retrieval_recalls(text, pose, None, 0, (1, 5, 10))
    pooled = pool_recalls(text, pose, 32, seed=0)
    assert all(pooled[k] > split[k] for k in pooled)
    with pytest.raises(InvalidInputError):
        pool_recalls(text[:10], text[:10], 32)


def test_bench_checks_the_regressor_against_the_body_first(body, tmp_path):
    from posegpt.eval.bench import h36m_joints

    np.save(tmp_path / "J_regressor_h36m.npy", np.eye(17, 6890, dtype=np.float32))
    assert h36m_joints(None, body) is None
    assert h36m_joints(tmp_path / "J_regressor_h36m.npy", body).name == "Human3.6M 14 joints"
    np.save(tmp_path / "other.npy", np.eye(17, 100, dtype=np.float32))
    with pytest.raises(InvalidInputError, match="100 vertices"):
        h36m_joints(tmp_path / "other.npy", body)
