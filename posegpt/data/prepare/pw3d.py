"""3DPW (von Marcard et al., ECCV 2018) -> image2pose/3dpw/<split>.npz.

Input, as released: `sequenceFiles/{train,validation,test}/*.pkl` and `imageFiles/<sequence>/
image_%05d.jpg`. Each pickle (Python 2, read by a restricted unpickler that builds only plain
numpy arrays) holds a dict with, per actor, `poses` (N, 72) SMPL in the world frame, `betas`,
`poses2d` (N, 3, 18) OpenPose-18 keypoints, `jointPositions` (N, 72) world joints,
`campose_valid` (N,), and per frame `cam_poses` (N, 4, 4) world -> camera.

One row per actor and frame with a valid camera pose and at least one visible keypoint (as
SPIN's preprocessing): the global orientation turned into the camera frame, the box around the
visible keypoints enlarged 1.2x, the keypoints in HMR24 order, and `joints_cam` (24, 3), the
SMPL joints in the camera frame (metres). Splits: train, validation -> val, test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from posegpt.body.rotations import axis_angle_to_rotmat
from posegpt.body.smpl_file import load_restricted_pickle
from posegpt.data.formats import HMR24_NAMES
from posegpt.data.prepare.common import Output, PersonRows, box_of, progress, require
from posegpt.errors import ModelFileError

NAME = "3dpw"
SPLITS = {"train": "train", "validation": "val", "test": "test"}
#: OpenPose-18 keypoints (3DPW's `poses2d`) in order, as HMR24 names.
OPENPOSE18_NAMES = (
    "nose",
    "neck",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_eye",
    "left_eye",
    "right_ear",
    "left_ear",
)
OPENPOSE18_IN_HMR24 = [HMR24_NAMES.index(n) for n in OPENPOSE18_NAMES]
REQUIRED = ("sequence", "poses", "betas", "poses2d", "jointPositions", "cam_poses", "campose_valid")


def read_sequence(path: Path) -> dict:
    """A 3DPW sequence pickle, its fields checked."""
    data = load_restricted_pickle(path, "3DPW sequence")
    if not isinstance(data, dict):
        raise ModelFileError(f"{path} is not a 3DPW sequence: the pickle holds no dict")
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise ModelFileError(f"{path} is not a 3DPW sequence: it lacks {', '.join(missing)}")
    frames = np.asarray(data["cam_poses"]).shape
    if len(frames) != 3 or frames[1:] != (4, 4):
        raise ModelFileError(f"{path}: 'cam_poses' must be (N, 4, 4), got {frames}")
    for actor, poses in enumerate(data["poses"]):
        if np.asarray(poses).shape != (frames[0], 72):
            raise ModelFileError(f"{path}: actor {actor}'s 'poses' must be ({frames[0]}, 72)")
        if np.asarray(data["poses2d"][actor]).shape != (frames[0], 3, 18):
            raise ModelFileError(f"{path}: actor {actor}'s 'poses2d' must be ({frames[0]}, 3, 18)")
    return data


def add_sequence(data: dict, rows: PersonRows) -> int:
    """Add every valid (actor, frame) of a sequence to `rows`; returns how many had no
    visible keypoint."""
    cameras = np.asarray(data["cam_poses"], np.float64)
    sequence, invisible = str(data["sequence"]), 0
    for actor in range(len(data["poses"])):
        poses = np.asarray(data["poses"][actor], np.float32)
        rotmat = axis_angle_to_rotmat(poses).double().numpy()
        keypoints = np.asarray(data["poses2d"][actor], np.float32)
        joints = np.asarray(data["jointPositions"][actor], np.float64).reshape(-1, 24, 3)
        valid = np.asarray(data["campose_valid"][actor]).astype(bool)
        betas = np.asarray(data["betas"][actor], np.float32).reshape(-1)[:10]
        for frame in np.flatnonzero(valid):
            points = keypoints[frame].T.copy()
            visible = points[:, 2] > 0
            if not visible.any():
                invisible += 1
                continue
            points[:, 2] = visible
            part = np.zeros((len(HMR24_NAMES), 3), np.float32)
            part[OPENPOSE18_IN_HMR24] = points
            turn, shift = cameras[frame, :3, :3], cameras[frame, :3, 3]
            pose = rotmat[frame].copy()
            pose[0] = turn @ pose[0]
            center, scale = box_of(points[visible, :2])
            rows.add(
                f"{NAME}/imageFiles/{sequence}/image_{frame:05d}.jpg",
                center,
                scale,
                pose.astype(np.float32),
                betas,
                part,
                joints_cam=(joints[frame] @ turn.T + shift).astype(np.float32),
            )
    return invisible


def prepare(
    src: Path, out: Path, images: Path | None = None, show: bool = True, **_: object
) -> dict:
    """Convert the 3DPW folder `src` (sequenceFiles/, imageFiles/) into image2pose/3dpw/."""
    folder = require(src / "sequenceFiles", "3DPW's sequenceFiles/ folder")
    output, counts, skipped = Output(out, NAME), {}, {"no_visible_keypoint": 0}
    for published, split in SPLITS.items():
        files = sorted((folder / published).glob("*.pkl"))
        if not files:
            continue
        rows = PersonRows()
        for path in progress(files, f"3DPW {published}", show):
            skipped["no_visible_keypoint"] += add_sequence(read_sequence(path), rows)
        output.write_people(split, rows)
        counts[split] = len(rows)
    if not counts:
        raise ModelFileError(f"{folder} holds no train/validation/test/*.pkl sequence files")
    output.link_images(images or src)
    return output.finish(counts, skipped, src)
