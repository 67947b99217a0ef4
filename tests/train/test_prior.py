"""A model's pose prior, fitted on its datasets' training person crops (`posegpt fit-prior`)."""

from __future__ import annotations

import pytest
import roma
import torch
from typer.testing import CliRunner

from posegpt.cli import app
from posegpt.data.formats import read_hmr
from posegpt.errors import InvalidInputError
from posegpt.model import load_pretrained
from posegpt.train.prior import crop_pose_prior


def test_the_prior_is_that_of_the_train_crops(dataset_dir, tmp_path):
    poses = read_hmr(dataset_dir / "image2pose/train.npz").pose
    prior = crop_pose_prior([dataset_dir])
    body = roma.rotmat_to_rotvec(poses[:, 1:].double()).reshape(len(poses), -1).mean(0)
    assert torch.allclose(prior.mean, body.float(), atol=1e-5)
    doubled = crop_pose_prior([dataset_dir, dataset_dir])
    assert torch.allclose(doubled.mean, prior.mean, atol=1e-5)
    with pytest.raises(InvalidInputError, match="person crops"):
        crop_pose_prior([tmp_path / "nowhere"])


def test_fit_prior_stores_the_prior_with_the_model(dataset_dir, tmp_path):
    out = tmp_path / "model"
    result = CliRunner().invoke(
        app, ["fit-prior", "default", "--data", str(dataset_dir), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    stored = load_pretrained(out).pose_prior
    assert stored is not None
    assert torch.allclose(stored.mean, crop_pose_prior([dataset_dir]).mean)
    refused = CliRunner().invoke(
        app, ["fit-prior", "small", "--data", str(dataset_dir), "-o", str(tmp_path / "small")]
    )
    assert refused.exit_code != 0 and "pose tower" in str(refused.exception) + refused.output
    assert not (tmp_path / "small").exists()
