"""The SMPL 24-joint skeleton: names, kinematic tree and left/right symmetry."""

from __future__ import annotations

NUM_JOINTS = 24
#: The body's sides, as joint names and words say them ("left_knee", "your left knee").
SIDES = ("left", "right")

JOINT_NAMES: tuple[str, ...] = (
    "pelvis",
    "left_hip",
    "right_hip",
    "spine1",
    "left_knee",
    "right_knee",
    "spine2",
    "left_ankle",
    "right_ankle",
    "spine3",
    "left_foot",
    "right_foot",
    "neck",
    "left_collar",
    "right_collar",
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hand",
    "right_hand",
)

JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINT_NAMES)}

#: Parent of each joint in the kinematic tree (-1 for the root, the pelvis).
PARENTS: tuple[int, ...] = (
    -1,
    0,
    0,
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    9,
    9,
    12,
    13,
    14,
    16,
    17,
    18,
    19,
    20,
    21,
)


#: Rest joints (metres, y up, facing +z), symmetric, about where SMPL's neutral template has
#: them: the fixed skeleton of the test body and of the pose-input tower's joint features.
TEMPLATE_JOINTS: tuple[tuple[float, float, float], ...] = (
    (0.00, -0.22, 0.03),  # pelvis
    (0.07, -0.31, 0.02),  # left_hip
    (-0.07, -0.31, 0.02),
    (0.00, -0.10, 0.01),  # spine1
    (0.10, -0.70, 0.02),  # left_knee
    (-0.10, -0.70, 0.02),
    (0.00, 0.03, 0.02),  # spine2
    (0.09, -1.11, -0.02),  # left_ankle
    (-0.09, -1.11, -0.02),
    (0.00, 0.08, 0.03),  # spine3
    (0.12, -1.17, 0.10),  # left_foot
    (-0.12, -1.17, 0.10),
    (0.00, 0.29, -0.01),  # neck
    (0.08, 0.20, -0.01),  # left_collar
    (-0.08, 0.20, -0.01),
    (0.00, 0.37, 0.04),  # head
    (0.17, 0.22, -0.02),  # left_shoulder
    (-0.17, 0.22, -0.02),
    (0.43, 0.21, -0.04),  # left_elbow
    (-0.43, 0.21, -0.04),
    (0.69, 0.22, -0.04),  # left_wrist
    (-0.69, 0.22, -0.04),
    (0.78, 0.21, -0.05),  # left_hand
    (-0.78, 0.21, -0.05),
)

#: The default body's (anny's) rest joints, pelvis at the origin (metres, y up, facing +z):
#: forward kinematics on them gives that body's posed joints to 0.1 mm, so the pose-input tower
#: reads posecodes on the skeleton the data's captions were written from (`body/posecodes.py`).
ANNY_REST_JOINTS: tuple[tuple[float, float, float], ...] = (
    (0.0000, 0.0000, 0.0000),  # pelvis
    (0.0990, -0.0749, 0.0200),  # left_hip
    (-0.0990, -0.0752, 0.0190),  # right_hip
    (0.0003, 0.0446, -0.0014),  # spine1
    (0.0990, -0.4737, 0.0200),  # left_knee
    (-0.0990, -0.4741, 0.0190),  # right_knee
    (0.0003, 0.1096, -0.0016),  # spine2
    (0.0990, -0.8628, 0.0200),  # left_ankle
    (-0.0990, -0.8630, 0.0190),  # right_ankle
    (0.0003, 0.1770, -0.0089),  # spine3
    (0.0990, -0.9105, 0.1447),  # left_foot
    (-0.0990, -0.9107, 0.1438),  # right_foot
    (0.0006, 0.4174, -0.0108),  # neck
    (0.0157, 0.3873, 0.0364),  # left_collar
    (-0.0161, 0.3873, 0.0361),  # right_collar
    (0.0006, 0.5383, 0.0264),  # head
    (0.1487, 0.3873, -0.0127),  # left_shoulder
    (-0.1497, 0.3873, -0.0132),  # right_shoulder
    (0.4044, 0.3873, -0.0127),  # left_elbow
    (-0.4053, 0.3873, -0.0132),  # right_elbow
    (0.6489, 0.3873, -0.0127),  # left_wrist
    (-0.6498, 0.3873, -0.0132),  # right_wrist
    (0.7322, 0.3816, -0.0189),  # left_hand
    (-0.7331, 0.3816, -0.0194),  # right_hand
)


def _mirror_index(name: str) -> int:
    for a, b in (("left_", "right_"), ("right_", "left_")):
        if name.startswith(a):
            return JOINT_INDEX[b + name[len(a) :]]
    return JOINT_INDEX[name]


#: FLIP_PERMUTATION[i] is the joint that mirrors joint i (itself for central joints).
FLIP_PERMUTATION: tuple[int, ...] = tuple(_mirror_index(n) for n in JOINT_NAMES)

#: (left, right) index pairs.
LEFT_RIGHT_PAIRS: tuple[tuple[int, int], ...] = tuple(
    (i, FLIP_PERMUTATION[i]) for i, n in enumerate(JOINT_NAMES) if n.startswith("left_")
)

#: COCO-17 keypoint names, the order of `BodyOutput.keypoints3d` (first 17 entries).
COCO17_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)

#: The 23 keypoints of `BodyOutput.keypoints3d` (both body models): COCO-17 then six foot points.
KEYPOINT_NAMES: tuple[str, ...] = COCO17_NAMES + (
    "left_big_toe",
    "right_big_toe",
    "left_small_toe",
    "right_small_toe",
    "left_heel",
    "right_heel",
)
