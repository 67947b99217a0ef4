"""A pose source over real poses, e.g. AMASS frames read by `posegpt.data.formats.read_amass`,
so the data engine can pose its people with real poses instead of generated ones."""

from __future__ import annotations

import numpy as np
import torch
from tqdm import tqdm

from posegpt.body.base import BodyModel
from posegpt.body.rotations import check_rotmat
from posegpt.errors import InvalidInputError
from posegpt.synth.plausibility import ground_offset
from posegpt.synth.poses import CHUNK, PoseSample, PoseSourceBase


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
