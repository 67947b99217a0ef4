from pathlib import Path

import numpy as np
import pytest
import torch

from posegpt.body import load_body_model
from posegpt.body.skeleton import JOINT_INDEX
from posegpt.errors import InvalidInputError, ModelFileError
from posegpt.synth.plausibility import is_plausible
from posegpt.synth.real_poses import RealPoseSource, load_amass_poses, load_hmr_poses

REAL = Path(__file__).resolve().parents[2].parent / "shared/data/real"
AMASS = REAL / "amass_sample/amass_sample.npz"
HMR = REAL / "mmpose_smpl/h36m/test_h36m.npz"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real sample data not found at {path}")
    return path


@pytest.fixture(scope="module")
def body():
    return load_body_model()


def _head_minus_pelvis(body, rotmat):
    with torch.no_grad():
        joints = body(rotmat).joints
    return joints[:, JOINT_INDEX["head"]] - joints[:, JOINT_INDEX["pelvis"]]


def test_amass_poses_load_plausible_and_turn_y_up(body):
    raw = load_amass_poses(_need(AMASS), stride=20)
    upright = load_amass_poses(AMASS, stride=20, y_up=True)
    n = len(np.load(AMASS, allow_pickle=False)["poses"])
    assert raw.shape == (len(range(0, n, 20)), 24, 3, 3) and raw.dtype == torch.float32
    assert torch.equal(raw[:, 1:], upright[:, 1:])  # only the global orientation turns
    assert torch.equal(raw[:, 22:], torch.eye(3).expand(len(raw), 2, 3, 3))  # SMPL hands
    assert (_head_minus_pelvis(body, raw)[:, 2] > 0.3).all()  # AMASS: z is up
    assert (_head_minus_pelvis(body, upright)[:, 1] > 0.3).all()
    assert is_plausible(raw).float().mean() > 0.95


def test_hmr_poses_load_with_their_arrays(body):
    rotmat, extras = load_hmr_poses(_need(HMR))
    assert rotmat.shape == (4, 24, 3, 3)
    assert set(extras) == {"imgname", "center", "scale", "shape", "part"}
    assert extras["imgname"][0].endswith(".jpg") and extras["part"].shape == (4, 24, 3)
    assert (_head_minus_pelvis(body, rotmat)[:, 1] < -0.3).all()  # camera frame: y down
    upright, _ = load_hmr_poses(HMR, y_up=True)
    assert (_head_minus_pelvis(body, upright)[:, 1] > 0.3).all()


def test_real_pose_source_samples_like_the_generator(body):
    poses = load_amass_poses(_need(AMASS), stride=10, y_up=True)
    source = RealPoseSource(poses, name="amass", seed=0, body=body)
    samples = source.sample_many(70)
    again = RealPoseSource(poses, name="amass", seed=0, body=body).sample_many(70)
    assert [s.params["index"] for s in samples] == [s.params["index"] for s in again]
    for s in samples[:3]:
        assert s.family == "amass" and torch.equal(s.rotmat, poses[s.params["index"]])
        assert s.joints.shape == (24, 3) and s.ground_offset < s.joints[:, 1].min()
    with pytest.raises(InvalidInputError):
        source.sample("waving")


def _write(path: Path, **arrays) -> Path:
    with path.open("wb") as f:
        np.savez(f, **arrays)
    return path


def test_bad_files_give_clear_errors_and_are_never_unpickled(tmp_path):
    with pytest.raises(ModelFileError, match="lacks poses"):
        load_amass_poses(_write(tmp_path / "a.npz", trans=np.zeros((3, 3))))
    with pytest.raises(ModelFileError, match="numeric"):
        load_amass_poses(_write(tmp_path / "b.npz", poses=np.zeros((3, 10))))
    with pytest.raises(ModelFileError, match="rows"):
        load_hmr_poses(_write(tmp_path / "c.npz", pose=np.zeros((2, 72)), scale=np.ones(3)))
    with pytest.raises(ModelFileError, match="NaN"):
        load_hmr_poses(_write(tmp_path / "d.npz", pose=np.full((1, 72), np.nan)))
    (tmp_path / "e.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(ModelFileError):
        load_amass_poses(tmp_path / "e.npz")
    with pytest.raises(ModelFileError):
        load_amass_poses(tmp_path / "missing.npz")
    pickled = np.empty(2, dtype=object)
    pickled[:] = [{"x": 1}, {"y": 2}]
    with pytest.raises(ModelFileError):
        load_hmr_poses(_write(tmp_path / "f.npz", pose=pickled))
    with pytest.raises(InvalidInputError):
        load_amass_poses(tmp_path / "a.npz", stride=0)
