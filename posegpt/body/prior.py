"""A Gaussian pose prior: how plausible a body pose is, from training poses.

The BlazePose and keypoint fit baselines use it as the fit's penalty and start, and a model
stores one (`PRIOR_FILE`, fitted on its training data's person crops) for the refinement of its
photo answers that blends them with such a fit (`posegpt.model.pose_tower.fit`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import roma
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from posegpt.body.rotations import axis_angle_to_rotmat, check_rotmat
from posegpt.body.skeleton import NUM_JOINTS
from posegpt.errors import InvalidInputError, ModelFileError

#: The prior's file in a model folder.
PRIOR_FILE = "pose_prior.safetensors"
BODY_DIMS = (NUM_JOINTS - 1) * 3


@dataclass
class GaussianPosePrior:
    """A Gaussian on the axis-angle of joints 1-23 (69 values), and the mean global orientation
    (not penalised: the camera decides it)."""

    mean: torch.Tensor  # (69,)
    precision: torch.Tensor  # (69, 69)
    root: torch.Tensor  # (3, 3)

    @classmethod
    def fit(cls, rotmat: torch.Tensor, ridge: float = 0.05) -> GaussianPosePrior:
        """Fit to training poses (N, 24, 3, 3); `ridge` (rad^2) is added to the covariance's
        diagonal so that joints that never move in the data stay stiff but finite."""
        rotmat = check_rotmat(rotmat)
        if rotmat.ndim != 4 or len(rotmat) < 2:
            raise InvalidInputError("the pose prior needs at least 2 training poses")
        body = roma.rotmat_to_rotvec(rotmat[:, 1:].double()).reshape(len(rotmat), BODY_DIMS)
        mean = body.mean(dim=0)
        centred = body - mean
        covariance = centred.T @ centred / (len(body) - 1) + ridge * torch.eye(BODY_DIMS)
        root = roma.special_procrustes(rotmat[:, 0].double().mean(dim=0))
        return cls(mean.float(), torch.linalg.inv(covariance).float(), root.float())

    def energy(self, rotmat: torch.Tensor) -> torch.Tensor:
        """(B, 24, 3, 3) -> (B,) squared Mahalanobis distance of the body joints."""
        delta = roma.rotmat_to_rotvec(rotmat[:, 1:]).reshape(len(rotmat), BODY_DIMS) - self.mean
        return ((delta @ self.precision) * delta).sum(dim=-1)

    def mean_pose(self) -> torch.Tensor:
        """(24, 3, 3): the mean root and the body joints at the Gaussian's mean."""
        body = axis_angle_to_rotmat(torch.cat([torch.zeros(3), self.mean]))
        body[0] = self.root
        return body

    def save(self, file: Path) -> None:
        tensors = {"mean": self.mean, "precision": self.precision, "root": self.root}
        save_file({k: v.contiguous() for k, v in tensors.items()}, file)

    @classmethod
    def load(cls, file: Path) -> GaussianPosePrior:
        """The prior stored in `file` (safetensors); ModelFileError if it cannot be read."""
        try:
            stored = load_file(file)
            prior = cls(stored["mean"], stored["precision"], stored["root"])
        except (OSError, SafetensorError, KeyError) as err:
            raise ModelFileError(f"cannot read the pose prior {file}: {err}") from err
        shapes = (tuple(prior.mean.shape), tuple(prior.precision.shape), tuple(prior.root.shape))
        if shapes != ((BODY_DIMS,), (BODY_DIMS, BODY_DIMS), (3, 3)):
            raise ModelFileError(f"{file} holds a pose prior of shapes {shapes}")
        if not all(torch.isfinite(t).all() for t in (prior.mean, prior.precision, prior.root)):
            raise ModelFileError(f"{file} holds NaN or infinite values")
        return prior
