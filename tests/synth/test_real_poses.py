import pytest
import torch

from posegpt.body import load_body_model
from posegpt.body.skeleton import JOINT_INDEX
from posegpt.data.formats import read_amass
from posegpt.errors import InvalidInputError
from posegpt.synth.plausibility import is_plausible
from posegpt.synth.real_poses import RealPoseSource

AMASS = "amass_sample/amass_sample.npz"


@pytest.fixture(scope="module")
def body():
    return load_body_model()


def _head_minus_pelvis(body, rotmat):
    with torch.no_grad():
        joints = body(rotmat).joints
    return joints[:, JOINT_INDEX["head"]] - joints[:, JOINT_INDEX["pelvis"]]


def test_real_amass_poses_are_upright_and_plausible(body, real_data):
    poses = read_amass(real_data(AMASS))[::20]
    assert torch.equal(poses[:, 22:], torch.eye(3).expand(len(poses), 2, 3, 3))  # SMPL hands
    assert (_head_minus_pelvis(body, poses)[:, 1] > 0.3).all()  # y-up
    assert is_plausible(poses).float().mean() > 0.95


def test_real_pose_source_samples_like_the_generator(body, real_data):
    poses = read_amass(real_data(AMASS))[::10]
    source = RealPoseSource(poses, name="amass", seed=0, body=body)
    samples = source.sample_many(70)
    again = RealPoseSource(poses, name="amass", seed=0, body=body).sample_many(70)
    assert [s.params["index"] for s in samples] == [s.params["index"] for s in again]
    for s in samples[:3]:
        assert s.family == "amass" and torch.equal(s.rotmat, poses[s.params["index"]])
        assert s.joints.shape == (24, 3) and s.ground_offset < s.joints[:, 1].min()
    with pytest.raises(InvalidInputError):
        source.sample("waving")
