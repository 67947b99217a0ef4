import json

import numpy as np
import pytest
import roma
import torch

from posegpt.body import load_body_model
from posegpt.body.io import load_mesh, load_pose, save_mesh, save_pose
from posegpt.errors import InvalidInputError, ModelFileError, PoseGPTError


def a_pose() -> torch.Tensor:
    return roma.rotvec_to_rotmat(
        0.3 * torch.randn(24, 3, generator=torch.Generator().manual_seed(1))
    )


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_pose_file_round_trip(tmp_path, suffix):
    pose = a_pose()
    path = save_pose(tmp_path / f"p{suffix}", pose)
    assert torch.allclose(load_pose(path), pose, atol=1e-6)
    if suffix == ".npz":
        with np.load(path) as f:
            assert f["pose"].shape == (72,) and f["rotmat"].shape == (24, 3, 3)
    else:
        assert len(json.loads(path.read_text())["pose"]) == 72


def test_pose_file_with_only_axis_angle(tmp_path):
    np.savez(tmp_path / "aa.npz", pose=np.zeros(72))
    assert torch.allclose(load_pose(tmp_path / "aa.npz"), torch.eye(3).expand(24, 3, 3))


@pytest.mark.parametrize("suffix", [".obj", ".ply", ".glb"])
def test_mesh_files_load_back(tmp_path, suffix):
    body = load_body_model()
    vertices = body(a_pose()[None]).vertices[0]
    path = save_mesh(tmp_path / f"body{suffix}", vertices, body.faces, color=(200, 120, 90))
    mesh = load_mesh(path)
    assert len(mesh.faces) == len(body.faces)
    v = vertices.detach().numpy()
    assert np.allclose(mesh.bounds, [v.min(0), v.max(0)], atol=1e-4)


def test_bad_files_give_clear_errors(tmp_path):
    (tmp_path / "corrupt.npz").write_bytes(b"not a zip")
    with pytest.raises(ModelFileError, match="corrupt.npz"):
        load_pose(tmp_path / "corrupt.npz")
    with pytest.raises(ModelFileError):
        load_pose(tmp_path / "missing.npz")
    np.savez(tmp_path / "empty.npz", other=np.zeros(3))
    with pytest.raises(InvalidInputError, match="neither"):
        load_pose(tmp_path / "empty.npz")
    with pytest.raises(InvalidInputError, match="must end in"):
        save_pose(tmp_path / "p.txt", a_pose())
    with pytest.raises(InvalidInputError, match="not rotations"):
        save_pose(tmp_path / "p.npz", 2 * a_pose())
    assert not (tmp_path / "p.npz").exists()


def test_unwritable_path_is_a_clean_error_and_leaves_nothing(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(PoseGPTError, match="cannot write"):
        save_pose(blocker / "sub" / "p.npz", a_pose())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]
