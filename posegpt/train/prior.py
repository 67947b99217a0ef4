"""The pose prior of a model's photo answers (`posegpt.body.prior`): a Gaussian on the poses of
the person crops of datasets' train splits, roots in the camera frame as the fits' (the prior
the BlazePose fit baseline fits on the same crops)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch

from posegpt.body.prior import GaussianPosePrior
from posegpt.data.formats import read_hmr
from posegpt.errors import InvalidInputError


def crop_pose_prior(roots: Sequence[str | os.PathLike]) -> GaussianPosePrior:
    """The prior of the train split's person crops (`image2pose/train.npz`) of dataset folders."""
    files = [Path(root) / "image2pose" / "train.npz" for root in roots]
    missing = [str(f) for f in files if not f.is_file()]
    if not files or missing:
        raise InvalidInputError(
            f"the pose prior needs datasets with person crops; missing {missing}"
        )
    return GaussianPosePrior.fit(torch.cat([read_hmr(f).pose for f in files]))
