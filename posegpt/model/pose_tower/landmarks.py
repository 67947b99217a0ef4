"""BlazePose's 33 landmarks: names, the COCO-17 subset and the SMPL joints they stand for, and
COCO's keypoint similarity (OKS) of detected keypoints to true ones."""

from __future__ import annotations

import numpy as np

from posegpt.body.skeleton import JOINT_INDEX

LANDMARK_NAMES: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index",
)  # fmt: skip
LANDMARK_INDEX = {name: i for i, name in enumerate(LANDMARK_NAMES)}

#: For each COCO-17 keypoint (nose, eyes, ears, shoulders, elbows, wrists, hips, knees,
#: ankles), its BlazePose landmark.
COCO17_LANDMARKS: tuple[int, ...] = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)

#: Limb joints both skeletons share (SMPL joint, BlazePose landmark): shoulders, elbows,
#: wrists, hips, knees, ankles. Hip and shoulder centres differ slightly between skeletons.
LIMB_NAMES: tuple[str, ...] = (
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip
LIMB_JOINTS: tuple[int, ...] = tuple(JOINT_INDEX[n] for n in LIMB_NAMES)
LIMB_LANDMARKS: tuple[int, ...] = tuple(LANDMARK_INDEX[n] for n in LIMB_NAMES)

COCO_SIGMAS = np.array(
    [.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89]
) / 10  # fmt: skip
#: Least OKS at which a detection is the true person.
MATCH_OKS = 0.5


def oks(found: np.ndarray, truth: np.ndarray) -> float:
    """OKS of (17, 2) detected keypoints against (17, 3) true ones (pixels, visibility)."""
    seen = truth[:, 2] > 0
    if seen.sum() < 2:
        return 0.0
    xy = truth[seen, :2]
    area = max(np.prod(xy.max(0) - xy.min(0)), 1.0)
    d2 = ((found[seen] - xy) ** 2).sum(1)
    return float(np.exp(-d2 / (2 * area * (2 * COCO_SIGMAS[seen]) ** 2)).mean())
