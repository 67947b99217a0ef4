"""What a person wears, as the pose tower reads it: colours sampled where the landmarks put the
body's parts.

BlazePose's landmarks say where each part of a person is, not what it looks like, so "the
woman in the red shirt" matched anyone. Per region (`REGIONS`: top, trousers or legs, shoes,
hair) the picture's mean colour over small patches at points between landmarks, and the share
of those points inside the picture (0: the region is out of it, its colour zeros).
"""

from __future__ import annotations

import numpy as np

from posegpt.model.pose_tower.landmarks import LANDMARK_INDEX

#: Region -> sample points, each (landmark a, landmark b, t): the point a + t (b - a).
REGIONS: dict[str, tuple[tuple[str, str, float], ...]] = {
    "top": tuple(
        (f"{side}_shoulder", f"{other}_hip", t)
        for side, other in (("left", "right"), ("right", "left"))
        for t in (0.25, 0.5, 0.75)
    )
    + (("left_shoulder", "left_elbow", 0.5), ("right_shoulder", "right_elbow", 0.5)),
    "bottom": tuple(
        (f"{side}_{a}", f"{side}_{b}", t)
        for side in ("left", "right")
        for a, b, t in (("hip", "knee", 0.3), ("hip", "knee", 0.7), ("knee", "ankle", 0.4))
    ),
    "shoes": tuple(
        (f"{side}_heel", f"{side}_foot_index", t) for side in ("left", "right") for t in (0.3, 0.6)
    ),
    # above the eyes, one more eye-to-mouth span up: the top of the head
    "hair": (("mouth_left", "left_eye", 2.0), ("mouth_right", "right_eye", 2.0)),
}
#: Values per region: mean red, green and blue (shifted to [-0.5, 0.5]) and the share seen.
COLOUR_DIM = len(REGIONS) * 4
#: Half the side of a sampled patch, as a share of the person's box diagonal (at least 1 px).
PATCH = 0.015

_POINTS = [
    (np.array([LANDMARK_INDEX[a] for a, _, _ in points]),
     np.array([LANDMARK_INDEX[b] for _, b, _ in points]),
     np.array([t for _, _, t in points], np.float32)[:, None])
    for points in REGIONS.values()
]  # fmt: skip


def person_colours(picture: np.ndarray, landmarks: np.ndarray, box: np.ndarray) -> np.ndarray:
    """(COLOUR_DIM,) float32 colours of one person: `picture` (H, W, 3) uint8, `landmarks`
    (33, 3) with x, y in picture fractions, `box` (4,) x0, y0, x1, y1 in picture fractions."""
    height, width = picture.shape[:2]
    size = np.array([width, height], np.float32)
    diagonal = float(np.hypot(*((box[2:] - box[:2]) * size)))
    half = max(int(round(PATCH * diagonal)), 1)
    out = np.zeros((len(REGIONS), 4), np.float32)
    for row, (a, b, t) in enumerate(_POINTS):
        xy = landmarks[a, :2] + t * (landmarks[b, :2] - landmarks[a, :2])
        pixels = np.floor(xy * size).astype(int)
        inside = ((pixels >= 0) & (pixels < size.astype(int))).all(1)
        if not inside.any():
            continue
        patches = [
            picture[max(y - half, 0) : y + half + 1, max(x - half, 0) : x + half + 1].reshape(-1, 3)
            for x, y in pixels[inside]
        ]
        out[row, :3] = np.concatenate(patches).mean(0) / 255.0 - 0.5
        out[row, 3] = inside.mean()
    return out.reshape(-1)
