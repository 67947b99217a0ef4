"""Human3.6M SMPL fits (MoSh / NeuralAnnot, HMR-style npz as SPIN and mmpose publish them)
-> image2pose/h36m/<split>.npz.

Input: one npz per split (`h36m_train.npz`, `h36m_valid_protocol1.npz`, `test_h36m.npz`, ...)
with `imgname`, `center`, `scale`, `pose` (N, 72), optional `shape`, `part` (N, 24, 3), `S`
(N, 24, 4) and other per-row arrays, which are kept. The split comes from `--split` or the
file name (train / val / valid / test). Image names are made relative to images/h36m (a flat
Human3.6M name also resolves in its subject/sequence folder when read: `PoseDataset`).
Pose-only files (MoSh `pose` + `shape`, no `imgname`) have no picture to learn from and are
refused with a message saying so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from posegpt.data.formats import HmrData, read_hmr, read_npz, write_hmr
from posegpt.data.prepare.common import IMAGE2POSE_DIR, Output, progress, require
from posegpt.errors import InvalidInputError, ModelFileError

NAME = "h36m"
SPLIT_WORDS = {"train": "train", "valid": "val", "val": "val", "test": "test"}


def split_of(path: Path, split: str | None) -> str:
    """`split`, or the split named in the file name."""
    if split is not None:
        if split not in ("train", "val", "test"):
            raise InvalidInputError(f"--split must be train, val or test, got {split!r}")
        return split
    words = path.stem.lower().replace("-", "_").split("_")
    found = {SPLIT_WORDS[w] for w in words if w in SPLIT_WORDS}
    if len(found) != 1:
        raise InvalidInputError(f"cannot tell the split of {path.name}: pass --split")
    return found.pop()


def convert_file(path: Path) -> HmrData:
    """One HMR-style npz, its image names made relative to images/."""
    if "imgname" not in read_npz(path):
        raise ModelFileError(
            f"{path} has no 'imgname': a pose-only file (e.g. MoSh 'pose' + 'shape') has no "
            "pictures to train image->pose on"
        )
    data = read_hmr(path)
    data.imgname = np.asarray([f"{NAME}/{n}" for n in data.imgname])
    return data


def prepare(
    src: Path,
    out: Path,
    images: Path | None = None,
    split: str | None = None,
    show: bool = True,
    **_: object,
) -> dict:
    """Convert the npz file `src` (or every npz in the folder `src`) into image2pose/h36m/."""
    files = [src] if src.is_file() else sorted(require(src, "HMR-style npz files").glob("*.npz"))
    if not files:
        raise ModelFileError(f"{src} holds no .npz files")
    by_split: dict[str, Path] = {}
    for path in files:
        key = split_of(path, split)
        if key in by_split:
            raise InvalidInputError(f"{by_split[key].name} and {path.name} are both {key}")
        by_split[key] = path
    output, counts = Output(out, NAME), {}
    for key, path in progress(by_split.items(), "Human3.6M files", show, len(by_split)):
        data = convert_file(path)
        target = out / IMAGE2POSE_DIR / NAME / f"{key}.npz"
        output.written.append(write_hmr(target, data))
        counts[key] = len(data)
    output.link_images(images)
    return output.finish(counts, {}, src)
