"""Posecodes read from joints: known poses give the codes they must, sides are the subject's,
and facts state them."""

from __future__ import annotations

import pytest
import roma
import torch

from posegpt.body import load_body_model
from posegpt.body.kinematics import forward_kinematics
from posegpt.body.posecodes import (
    FEATURE_LAYOUT,
    NEUTRAL,
    NUM_FEATURES,
    facts,
    posecode_features,
    posecodes,
    posecodes_batch,
)
from posegpt.body.rotations import axis_angle_to_rotmat, identity_pose
from posegpt.body.skeleton import ANNY_REST_JOINTS, JOINT_INDEX
from posegpt.errors import InvalidInputError


@pytest.fixture(scope="module")
def body():
    return load_body_model()


def _pose(**angles: tuple[str, float]) -> torch.Tensor:
    """The T-pose with joint -> (axis, degrees) rotations; arms hang by default."""
    pose = identity_pose()
    angles = {"left_shoulder": ("z", -80.0), "right_shoulder": ("z", 80.0), **angles}
    for joint, (axis, degrees) in angles.items():
        pose[JOINT_INDEX[joint]] = roma.euler_to_rotmat(axis, [degrees], degrees=True)
    return pose


def _codes(body, *poses: torch.Tensor) -> list[dict]:
    with torch.no_grad():
        joints = body(torch.stack(poses)).joints
    return posecodes_batch(joints)


def test_arms_hanging_is_the_neutral_standing_pose(body):
    (codes,) = _codes(body, _pose())
    for side in ("left", "right"):
        for kind in ("elbow", "knee", "hand_level", "hand_near"):
            assert codes[f"{side}_{kind}"] == NEUTRAL[kind], (side, kind)
        assert codes[f"{side}_foot_on_ground"] and not codes[f"{side}_knee_raised"]
    assert codes["posture"] == "standing" and codes["trunk_lean"] == "upright"
    assert codes["head_turn"] == "unknown"  # no nose given


def test_a_bent_elbow_and_a_raised_arm_are_on_the_subjects_side(body):
    bent, raised = _codes(
        body,
        _pose(left_elbow=("y", 95.0)),
        _pose(right_shoulder=("z", -85.0)),  # the right arm straight up
    )
    assert bent["left_elbow"] == "bent" and bent["right_elbow"] == "straight"
    assert 85.0 < bent["left_elbow_angle"] < 105.0
    assert raised["right_hand_level"] == "above the head"
    assert raised["left_hand_level"] == "down"
    answers = dict(facts(raised))
    assert answers["Is the right arm raised?"] == "Yes, the right hand is above the head."
    assert answers["Is the left arm raised?"] == "No, the left hand is down by the side."
    assert dict(facts(bent))["Is the left elbow bent?"] == "Yes, the left elbow is bent."


def test_one_pose_and_a_batch_agree(body):
    poses = [_pose(), _pose(left_knee=("x", 90.0))]
    with torch.no_grad():
        joints = body(torch.stack(poses)).joints
    assert posecodes_batch(joints) == [posecodes(j) for j in joints]


@pytest.mark.parametrize(
    "joints", [torch.zeros(23, 3), torch.zeros(2, 2, 24, 3), torch.full((24, 3), float("nan"))]
)
def test_bad_joints_are_refused(joints):
    with pytest.raises(InvalidInputError):
        posecodes(joints)


def test_the_anny_rest_skeleton_gives_the_default_bodys_joints(body):
    """Forward kinematics on `ANNY_REST_JOINTS` is where the default body puts its joints, so
    posecodes read on it are those the data's captions were written from."""
    poses = axis_angle_to_rotmat(torch.randn(8, 24, 3, generator=torch.Generator().manual_seed(0)))
    with torch.no_grad():
        joints = body(poses).joints
    rest = torch.tensor(ANNY_REST_JOINTS).expand(len(poses), -1, -1)
    fk = forward_kinematics(poses, rest)[1]
    error = ((fk - fk[:, :1]) - (joints - joints[:, :1])).norm(dim=-1)
    assert error.max() < 1e-3
    assert torch.equal(posecode_features(fk), posecode_features(joints))


def test_posecode_features_are_the_codes_one_hot(body):
    poses = [_pose(), _pose(left_shoulder=("z", 120.0)), _pose(left_knee=("x", 100.0))]
    with torch.no_grad():
        joints = body(torch.stack(poses)).joints
    features = posecode_features(joints)
    assert features.shape == (3, NUM_FEATURES) and features.dtype == torch.float32
    for codes, row in zip(posecodes_batch(joints), features, strict=True):
        start = 0
        for name, values in FEATURE_LAYOUT:
            width = len(values) if values else 1
            group = row[start : start + width]
            if values is None:
                assert group.item() == float(codes[name]), name
            else:
                assert group.sum() == 1 and values[int(group.argmax())] == codes[name], name
            start += width
        assert start == NUM_FEATURES
    assert not torch.equal(features[0], features[1]) and not torch.equal(features[0], features[2])
