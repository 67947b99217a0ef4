import math

import pytest
import roma
import torch

from posegpt.body import AnnyBody, load_body_model
from posegpt.body.rotations import flip_pose, identity_pose
from posegpt.body.skeleton import FLIP_PERMUTATION, JOINT_INDEX
from posegpt.errors import InvalidInputError

J = JOINT_INDEX


@pytest.fixture(scope="module")
def body() -> AnnyBody:
    return load_body_model()


def with_rotation(joint: str, rotvec, batch: int | None = None) -> torch.Tensor:
    pose = identity_pose()
    pose[J[joint]] = roma.rotvec_to_rotmat(torch.tensor(rotvec, dtype=torch.float32))
    return pose if batch is None else pose.expand(batch, 24, 3, 3)


def test_output_shapes_and_dtype(body):
    out = body(identity_pose(3))
    assert out.vertices.shape == (3, 13718, 3)
    assert out.joints.shape == (3, 24, 3)
    assert out.keypoints3d.shape[0] == 3 and out.keypoints3d.shape[1] >= 17
    assert out.vertices.dtype == torch.float32
    assert body.faces.shape == (27420, 3) and int(body.faces.max()) < 13718


def test_t_pose_is_y_up_facing_z_with_left_at_plus_x(body):
    joints = body(identity_pose()).joints[0]
    assert joints[J["head"], 1] > joints[J["pelvis"], 1] > joints[J["left_ankle"], 1]
    assert joints[J["left_wrist"], 0] > 0.4 and joints[J["right_wrist"], 0] < -0.4
    # Toes point forward (+z).
    assert joints[J["left_foot"], 2] > joints[J["left_ankle"], 2] + 0.05
    # Arms are horizontal in the T-pose.
    assert abs(joints[J["left_wrist"], 1] - joints[J["left_shoulder"], 1]) < 0.05


def test_knee_bend_sends_ankle_backwards(body):
    out = body(with_rotation("left_knee", [math.pi / 2, 0, 0]))
    knee, ankle = out.joints[0, J["left_knee"]], out.joints[0, J["left_ankle"]]
    assert ankle[2] < knee[2] - 0.3  # behind the knee
    assert abs(ankle[1] - knee[1]) < 0.05  # at knee height: the shin is horizontal


def test_raised_arm_puts_wrist_above_head(body):
    # Rotating the left shoulder +90 degrees about z turns the arm from +x to +y.
    out = body(with_rotation("left_shoulder", [0, 0, math.pi / 2]))
    assert out.joints[0, J["left_wrist"], 1] > out.joints[0, J["head"], 1] + 0.2


def test_mirrored_pose_mirrors_joints(body):
    pose = with_rotation("left_shoulder", [0.3, -0.4, 1.0])
    a = body(pose).joints[0]
    b = body(flip_pose(pose)).joints[0]
    mirrored = b[list(FLIP_PERMUTATION)] * torch.tensor([-1.0, 1.0, 1.0])
    assert (a - mirrored).abs().max() < 0.01


def test_batch_consistency_gradient_and_transl(body):
    poses = torch.stack([with_rotation("left_knee", [0.5, 0, 0]), identity_pose()])
    poses.requires_grad_(True)
    out = body(poses, transl=torch.tensor([[1.0, 0, 0], [0, 0, 0]]))
    single = body(poses[1:].detach()).joints
    assert torch.allclose(out.joints[1], single[0], atol=1e-5)
    assert torch.allclose(out.joints[0, J["pelvis"]], torch.tensor([1.0, 0, 0]), atol=1e-5)
    out.joints.sum().backward()
    assert poses.grad is not None and poses.grad.abs().sum() > 0


def test_phenotype_changes_height(body):
    tall = body(identity_pose(), betas=torch.tensor([0.5, 0.5, 0.5, 0.5, 1.0, 0.5])).joints
    short = body(identity_pose(), betas=torch.tensor([0.5, 0.5, 0.5, 0.5, 0.0, 0.5])).joints
    assert tall[0, J["head"], 1] > short[0, J["head"], 1] + 0.1


@pytest.mark.parametrize("shape", [(24, 3), (2, 23, 3, 3), (2, 2, 24, 3, 3)])
def test_wrong_shapes_raise(body, shape):
    with pytest.raises(InvalidInputError, match="rotmat"):
        body(torch.zeros(shape))


def test_too_many_betas_raise(body):
    with pytest.raises(InvalidInputError, match="betas"):
        body(identity_pose(), betas=torch.zeros(1, 10))


def test_keypoints_follow_the_shared_names(body):
    from posegpt.body.skeleton import KEYPOINT_NAMES

    assert list(body.keypoint_regressor.labels) == list(KEYPOINT_NAMES)
    kp = body(identity_pose()).keypoints3d[0]
    assert kp[KEYPOINT_NAMES.index("nose"), 1] > kp[KEYPOINT_NAMES.index("left_hip"), 1]
