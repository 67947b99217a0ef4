import math

import numpy as np
import pytest
import roma
import torch

from posegpt.body.rotations import (
    axis_angle_to_rotmat,
    camera_to_y_up,
    check_rotmat,
    flip_pose,
    identity_pose,
    rotmat_to_6d,
    rotmat_to_axis_angle,
    sixd_to_rotmat,
    to_rotmat,
)
from posegpt.body.skeleton import FLIP_PERMUTATION, JOINT_INDEX, JOINT_NAMES, PARENTS
from posegpt.errors import InvalidInputError


def random_pose(batch: int = 5, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(batch, 72, generator=g) - 0.5) * 2.0


def test_skeleton_is_a_tree_with_mirror_pairs():
    assert len(JOINT_NAMES) == len(PARENTS) == 24
    assert all(PARENTS[i] < i for i in range(1, 24))
    for i, j in enumerate(FLIP_PERMUTATION):
        assert FLIP_PERMUTATION[j] == i
        assert JOINT_NAMES[i].replace("left", "X").replace("right", "X") == JOINT_NAMES[j].replace(
            "left", "X"
        ).replace("right", "X")


def test_axis_angle_round_trip():
    aa = random_pose()
    rotmat = axis_angle_to_rotmat(aa)
    assert rotmat.shape == (5, 24, 3, 3)
    assert torch.allclose(rotmat_to_axis_angle(rotmat), aa, atol=1e-5)
    assert torch.allclose(axis_angle_to_rotmat(aa.reshape(5, 24, 3)), rotmat)


def test_6d_round_trip_and_gram_schmidt_projects_noise_to_rotations():
    rotmat = axis_angle_to_rotmat(random_pose())
    assert torch.allclose(sixd_to_rotmat(rotmat_to_6d(rotmat)), rotmat, atol=1e-5)
    noisy = rotmat_to_6d(rotmat) + 0.1 * torch.randn(5, 24, 6)
    assert roma.is_rotation_matrix(sixd_to_rotmat(noisy), epsilon=1e-4)


def test_known_rotation():
    aa = torch.zeros(72)
    aa[3 * JOINT_INDEX["left_knee"]] = math.pi / 2
    r = axis_angle_to_rotmat(aa)[JOINT_INDEX["left_knee"]]
    # +90 degrees about x sends +y to +z.
    assert torch.allclose(
        r @ torch.tensor([0.0, 1.0, 0.0]), torch.tensor([0.0, 0.0, 1.0]), atol=1e-6
    )


def test_flip_is_an_involution_and_swaps_sides():
    rotmat = axis_angle_to_rotmat(random_pose())
    assert torch.allclose(flip_pose(flip_pose(rotmat)), rotmat, atol=1e-6)
    single = identity_pose()
    single[JOINT_INDEX["left_elbow"]] = roma.rotvec_to_rotmat(torch.tensor([0.0, 1.0, 0.0]))
    flipped = flip_pose(single)
    assert torch.allclose(flipped[JOINT_INDEX["left_elbow"]], torch.eye(3))
    expected = roma.rotvec_to_rotmat(torch.tensor([0.0, -1.0, 0.0]))
    assert torch.allclose(flipped[JOINT_INDEX["right_elbow"]], expected, atol=1e-6)


@pytest.mark.parametrize(
    "bad, message",
    [
        (torch.zeros(71), "shape"),
        (torch.full((72,), float("nan")), "NaN"),
        (torch.full((24, 3, 3), float("inf")), "NaN or infinite"),
        (2 * torch.eye(3).expand(24, 3, 3), "not rotations"),
        (-torch.eye(3).expand(24, 3, 3), "not rotations"),
        (torch.zeros(3, 3, 3), "shape"),
        (np.array(["a"] * 72), "numbers"),
    ],
)
def test_bad_poses_are_rejected_with_a_clear_message(bad, message):
    with pytest.raises(InvalidInputError, match=message):
        to_rotmat(bad)


def test_check_rotmat_accepts_float64_numpy():
    r = check_rotmat(np.tile(np.eye(3), (24, 1, 1)))
    assert r.dtype == torch.float32


def test_camera_to_y_up_turns_a_camera_frame_root_upright() -> None:
    upright_in_camera = identity_pose(2)
    upright_in_camera[:, 0] = torch.diag(torch.tensor([1.0, -1.0, -1.0]))  # y down, z forward
    upright_in_camera[:, 5] = roma.rotvec_to_rotmat(torch.tensor([0.3, 0.0, 0.0]))
    shown = camera_to_y_up(upright_in_camera)
    assert torch.allclose(shown[:, 0], torch.eye(3).expand(2, 3, 3))
    assert torch.equal(shown[:, 1:], upright_in_camera[:, 1:])  # only the root turns
