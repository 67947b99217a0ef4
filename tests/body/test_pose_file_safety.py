"""Pose files from strangers: bombs and wrong dtypes give clear errors before any large load."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from posegpt.body.io import MAX_POSE_FILE_BYTES, load_pose, save_pose
from posegpt.body.rotations import identity_pose
from posegpt.errors import InvalidInputError, TooLargeError


def test_npz_bomb_is_refused_from_its_declared_size(tmp_path):
    """A small compressed file that unpacks past the limit is refused before unpacking."""
    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, pose=np.zeros(MAX_POSE_FILE_BYTES // 4 + 1024, np.float32))
    assert path.stat().st_size < 200_000
    with pytest.raises(TooLargeError, match="unpacks to"):
        load_pose(path)


def test_npz_whose_header_claims_a_huge_array_is_refused(tmp_path):
    """A member whose .npy header claims 8 GB (with little data behind it) is refused."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (1 << 31,)}
    )
    path = tmp_path / "liar.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("pose.npy", header.getvalue() + b"\0" * 288)
    with pytest.raises(TooLargeError, match="'pose' is"):
        load_pose(path)


@pytest.mark.parametrize(
    "values",
    [
        np.array(["0.1"] * 72),
        np.zeros(72, dtype=np.complex64),
        np.zeros(72, dtype=bool),
        np.array([b"x"] * 72),
    ],
    ids=["str", "complex", "bool", "bytes"],
)
def test_non_number_dtypes_are_refused(tmp_path, values):
    path = tmp_path / "pose.npz"
    np.savez(path, pose=values)
    with pytest.raises(InvalidInputError, match="not real numbers"):
        load_pose(path)


def test_json_booleans_are_refused(tmp_path):
    path = tmp_path / "pose.json"
    path.write_text('{"pose": [' + ", ".join(["true"] * 72) + "]}")
    with pytest.raises(InvalidInputError, match="not real numbers"):
        load_pose(path)


def test_pose_files_round_trip(tmp_path):
    path = save_pose(tmp_path / "pose.npz", identity_pose())
    assert np.allclose(load_pose(path).numpy(), identity_pose().numpy())
