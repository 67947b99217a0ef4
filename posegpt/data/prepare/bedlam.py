"""BEDLAM (Black et al., CVPR 2023) -> image2pose/bedlam/<split>.npz.

Input, as released for training (`all_npz_12_training/` / `all_npz_12_validation/`): one npz
per scene, named like its image folder, with one row per person and frame: `imgname`
("seq_000000/seq_000000_0000.png", under `<scene>/png/`), `center`, `scale`, `pose_cam`
(N, >= 66) axis-angle with the root in the camera frame (SMPL-X: the first 22 joints are
SMPL's 22; SMPL's two hand joints are left at identity), `shape` (N, 10 or 11) betas. Other
per-row arrays (`cam_int`, `trans_cam`, `gtkps`, ...) are not kept. `--images` is the folder
holding the scene folders (`<scene>/png/...`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from posegpt.data.formats import _array, read_npz
from posegpt.data.prepare.common import Output, PersonRows, progress, require
from posegpt.errors import InvalidInputError, ModelFileError

NAME = "bedlam"
BODY_VALUES = 66
REQUIRED = ("imgname", "center", "scale", "pose_cam", "shape")


def add_scene(path: Path, rows: PersonRows) -> None:
    """Every person of one scene npz."""
    arrays = read_npz(path)
    missing = [k for k in REQUIRED if k not in arrays]
    if missing:
        raise ModelFileError(f"{path} is not a BEDLAM label file: it lacks {', '.join(missing)}")
    names = _array(arrays, "imgname", ("N",), path)
    n = len(names)
    center = _array(arrays, "center", (n, 2), path)
    scale = _array(arrays, "scale", (n,), path)
    shape = _array(arrays, "shape", (n, None), path)
    pose = _array(arrays, "pose_cam", (n, None), path)
    if pose.shape[1] < BODY_VALUES or not np.isfinite(pose).all():
        raise ModelFileError(f"{path}: 'pose_cam' must hold >= {BODY_VALUES} finite values a row")
    full = np.zeros((n, 72), np.float32)
    full[:, :BODY_VALUES] = pose[:, :BODY_VALUES]
    for i in range(n):
        rows.add(
            f"{NAME}/{path.stem}/png/{names[i]}",
            center[i],
            float(scale[i]),
            full[i],
            shape[i],
        )


def prepare(
    src: Path,
    out: Path,
    images: Path | None = None,
    split: str = "train",
    show: bool = True,
    **_: object,
) -> dict:
    """Convert the scene npz files in the folder `src` into image2pose/bedlam/<split>.npz."""
    split = split or "train"
    if split not in ("train", "val", "test"):
        raise InvalidInputError(f"--split must be train, val or test, got {split!r}")
    files = sorted(require(src, "BEDLAM's scene npz folder").glob("*.npz"))
    if not files:
        raise ModelFileError(f"{src} holds no scene .npz files")
    rows = PersonRows()
    for path in progress(files, "BEDLAM scenes", show):
        add_scene(path, rows)
    output = Output(out, NAME)
    # SMPL-X betas are not SMPL's: the shape column is kept but named for what it is.
    output.write_people(split, rows, body_model="smplx")
    output.link_images(images)
    return output.finish({split: len(rows), "scenes": len(files)}, {}, src)
