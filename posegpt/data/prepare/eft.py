"""EFT pseudo-ground-truth fits (Joo et al., 3DV 2021) for COCO 2014 and MPII ->
image2pose/coco-eft/train.npz and image2pose/mpii-eft/train.npz.

Input, as released: `COCO2014-All-ver01.json` (or `COCO2014-Part-ver01.json`) and
`MPII_ver01.json`: {"meta": {"dbname": ...}, "data": [{"imageName", "bbox_center" [x, y],
"bbox_scale" (box side / 200), "parm_pose" (24, 3, 3) SMPL rotation matrices with the root in
the camera frame, "parm_shape" (10,), "gt_keypoint_2d" (49, 3): 25 OpenPose then SPIN's 24
(HMR24 order), "annotId", ...}]}. Images: `--images` is the COCO root holding train2014/, or
the MPII root holding images/ (image names get that folder, as SPIN's EFT export does).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from posegpt.body.rotations import check_rotmat
from posegpt.data.formats import HMR24_NAMES, read_json
from posegpt.data.prepare.common import Output, PersonRows, find_one, progress
from posegpt.errors import InvalidInputError, ModelFileError

#: converter name -> (file patterns, image folder under --images)
SOURCES = {
    "coco-eft": (("COCO2014-All-ver01.json", "COCO2014-*.json"), "train2014"),
    "mpii-eft": (("MPII_ver01.json", "MPII*.json"), "images"),
}
OPENPOSE_KEYPOINTS = 25


def add_fit(item: object, rows: PersonRows, name: str, folder: str, where: str) -> None:
    """One EFT fit as an HMR row; ModelFileError (naming `where`) if malformed."""
    try:
        if not isinstance(item, dict):
            raise TypeError("an entry must be an object")
        pose = np.asarray(item["parm_pose"], np.float32)
        keypoints = np.asarray(item["gt_keypoint_2d"], np.float32)
        if pose.shape != (24, 3, 3):
            raise ValueError(f"'parm_pose' must be (24, 3, 3), got {pose.shape}")
        if keypoints.shape != (OPENPOSE_KEYPOINTS + len(HMR24_NAMES), 3):
            raise ValueError(f"'gt_keypoint_2d' must be (49, 3), got {keypoints.shape}")
        check_rotmat(pose, tolerance=1e-3)
        center = [float(v) for v in item["bbox_center"]]
        scale = float(item["bbox_scale"])
        if len(center) != 2 or not scale > 0:
            raise ValueError("'bbox_center' must be [x, y] and 'bbox_scale' positive")
        rows.add(
            f"{name}/{folder}/{item['imageName']}",
            (center[0], center[1]),
            scale,
            pose,
            np.asarray(item["parm_shape"], np.float32),
            keypoints[OPENPOSE_KEYPOINTS:],
            annot_id=int(item.get("annotId", -1)),
        )
    except (KeyError, TypeError, ValueError, InvalidInputError) as err:
        raise ModelFileError(f"{where}: {err}") from err


def prepare_eft(
    name: str, src: Path, out: Path, images: Path | None = None, show: bool = True
) -> dict:
    """Convert an EFT fits json (`src`, or the file in the folder `src`) for `name`."""
    patterns, folder = SOURCES[name]
    path = find_one(src, patterns, f"{name} fits json")
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ModelFileError(f"{path} is not an EFT fits file: expected {{'meta', 'data': [...]}}")
    rows = PersonRows()
    for i, item in enumerate(progress(data["data"], name, show)):
        add_fit(item, rows, name, folder, f"{path} entry {i}")
    output = Output(out, name)
    output.write_people("train", rows)
    output.link_images(images)
    dbname = data.get("meta", {}).get("dbname") if isinstance(data.get("meta"), dict) else None
    return output.finish({"train": len(rows)}, {}, path, dbname=dbname)


def prepare_coco(src: Path, out: Path, images: Path | None = None, show: bool = True, **_) -> dict:
    """COCO-EFT: `--images` is the COCO root (train2014/ inside)."""
    return prepare_eft("coco-eft", src, out, images, show)


def prepare_mpii(src: Path, out: Path, images: Path | None = None, show: bool = True, **_) -> dict:
    """MPII-EFT: `--images` is the MPII root (images/ inside)."""
    return prepare_eft("mpii-eft", src, out, images, show)
