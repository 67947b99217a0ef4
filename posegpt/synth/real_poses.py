"""Real poses: AMASS (SMPL-H) and HMR-style npz files, and a pose source over them.

Files are read with `np.load(allow_pickle=False)` only: nothing is ever unpickled.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import roma
import torch
from tqdm import tqdm

from posegpt.body.base import BodyModel
from posegpt.body.rotations import axis_angle_to_rotmat, check_rotmat
from posegpt.body.skeleton import NUM_JOINTS
from posegpt.errors import InvalidInputError, ModelFileError, PoseGPTError
from posegpt.synth.plausibility import ground_offset
from posegpt.synth.poses import CHUNK, PoseSample, PoseSourceBase

#: Axis-angle values of the SMPL-H body in AMASS `poses`: global orientation + 21 joints.
AMASS_BODY_VALUES = 66
#: Arrays kept alongside the pose from an HMR-style file, when present.
HMR_EXTRA_KEYS = ("imgname", "center", "scale", "shape", "part")


def _read_npz(path: str | Path, required: tuple[str, ...]) -> dict[str, np.ndarray]:
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in required if k not in npz.files]
            if missing:
                raise ModelFileError(
                    f"{path} lacks {', '.join(missing)}; it has: {', '.join(npz.files) or '-'}"
                )
            return {k: npz[k] for k in npz.files}
    except PoseGPTError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise ModelFileError(f"cannot read pose file {path}: {err}") from err


def _poses(path: str | Path, array: np.ndarray, key: str, width: int) -> torch.Tensor:
    """(N, >= width) axis-angle array -> (N, 24, 3, 3), joints past `width` / 3 = identity."""
    if array.ndim != 2 or array.shape[1] < width or not np.issubdtype(array.dtype, np.number):
        raise ModelFileError(
            f"{path}: '{key}' must be numeric (N, {width}+), not {array.dtype} {array.shape}"
        )
    pose = np.zeros((array.shape[0], NUM_JOINTS * 3), dtype=np.float32)
    pose[:, :width] = array[:, :width]
    try:
        return axis_angle_to_rotmat(pose)
    except InvalidInputError as err:
        raise ModelFileError(f"{path}: '{key}' {err}") from err


def load_amass_poses(npz_path: str | Path, stride: int = 1, y_up: bool = False) -> torch.Tensor:
    """Body poses of an AMASS SMPL-H npz (`poses` (N, 156)) as (ceil(N / stride), 24, 3, 3).

    The first 66 values are the global orientation and 21 body joints; SMPL's two hand
    joints (22, 23) are identity. AMASS worlds are z-up: the file's global orientation is
    kept as is, unless `y_up` turns it into posegpt's y-up frame (-90 degrees about x).
    """
    if stride < 1:
        raise InvalidInputError(f"stride must be >= 1, got {stride}")
    data = _read_npz(npz_path, ("poses",))
    rotmat = _poses(npz_path, data["poses"][::stride], "poses", AMASS_BODY_VALUES)
    if y_up:
        _turn_root(rotmat, -90.0)
    return rotmat


def _turn_root(rotmat: torch.Tensor, degrees: float) -> None:
    """Turn the global orientation of (N, 24, 3, 3) poses about x, in place."""
    rotmat[:, 0] = roma.euler_to_rotmat("x", [degrees], degrees=True) @ rotmat[:, 0]


def load_hmr_poses(
    npz_path: str | Path, y_up: bool = False
) -> tuple[torch.Tensor, dict[str, np.ndarray]]:
    """Poses of an HMR-style npz (`pose` (N, 72), SMPL axis-angle) as (N, 24, 3, 3), with the
    file's `imgname`, `center`, `scale`, `shape` and `part` arrays (those present), each
    checked to have N rows. The global orientation is in the camera frame (y down, z away
    from the camera) unless `y_up` turns it 180 degrees about x (y up, facing the camera)."""
    data = _read_npz(npz_path, ("pose",))
    rotmat = _poses(npz_path, data["pose"], "pose", NUM_JOINTS * 3)
    if y_up:
        _turn_root(rotmat, 180.0)
    extras = {k: data[k] for k in HMR_EXTRA_KEYS if k in data}
    for key, value in extras.items():
        if value.ndim == 0 or value.shape[0] != len(rotmat):
            raise ModelFileError(
                f"{npz_path}: '{key}' has shape {value.shape}, expected {len(rotmat)} rows"
            )
    return rotmat, extras


class RealPoseSource(PoseSourceBase):
    """A `PoseSource` over real poses (N, 24, 3, 3): samples uniformly with a seeded stream.
    Every sample's family is `name` (e.g. "amass"); params hold the pose's `index`."""

    def __init__(
        self,
        rotmat: torch.Tensor,
        name: str = "real",
        seed: int = 0,
        body: BodyModel | None = None,
    ) -> None:
        rotmat = check_rotmat(rotmat)
        if rotmat.ndim != 4 or len(rotmat) == 0:
            raise InvalidInputError(
                f"need a non-empty (N, 24, 3, 3) batch, got {tuple(rotmat.shape)}"
            )
        self.rotmat = rotmat
        self.name = name
        self._rng = np.random.default_rng(seed)
        self._body = body

    def __len__(self) -> int:
        return len(self.rotmat)

    def sample_many(
        self, n: int, family: str | None = None, progress: bool = False
    ) -> list[PoseSample]:
        """`n` poses drawn at random (with replacement). `family` may only be `self.name`."""
        if family not in (None, self.name):
            raise InvalidInputError(f"this source only has family {self.name!r}, not {family!r}")
        self._check_count(n)
        index = self._rng.integers(len(self.rotmat), size=n)
        out = []
        for start in tqdm(range(0, n, CHUNK), disable=not progress, desc=self.name, unit="chunk"):
            idx = index[start : start + CHUNK]
            with torch.no_grad():
                posed = self.body(self.rotmat[idx])
            offsets = ground_offset(posed.vertices)
            out.extend(
                PoseSample(self.rotmat[i], self.name, {"index": int(i)}, joints, float(offset))
                for i, joints, offset in zip(idx, posed.joints, offsets, strict=True)
            )
        return out
