"""The Gaussian pose prior: stored in safetensors, refused when damaged."""

from __future__ import annotations

import pytest
import torch

from posegpt.body.prior import GaussianPosePrior
from posegpt.errors import ModelFileError
from posegpt.synth.pose_families import FAMILY_INFO
from posegpt.synth.poses import template_pose


@pytest.fixture(scope="module")
def prior() -> GaussianPosePrior:
    return GaussianPosePrior.fit(torch.stack([template_pose(f)[0] for f in FAMILY_INFO.values()]))


def test_a_saved_prior_loads_the_same(prior, tmp_path):
    prior.save(tmp_path / "prior.safetensors")
    loaded = GaussianPosePrior.load(tmp_path / "prior.safetensors")
    pose = template_pose(next(iter(FAMILY_INFO.values())))[0][None]
    for name in ("mean", "precision", "root"):
        assert torch.equal(getattr(loaded, name), getattr(prior, name))
    assert torch.allclose(loaded.energy(pose), prior.energy(pose))
    assert float(prior.energy(prior.mean_pose()[None])) < float(prior.energy(pose))


def test_a_damaged_or_misshapen_prior_is_refused(prior, tmp_path):
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelFileError, match="cannot read the pose prior"):
        GaussianPosePrior.load(tmp_path / "junk.safetensors")
    GaussianPosePrior(prior.mean[:9], prior.precision, prior.root).save(tmp_path / "short.st")
    with pytest.raises(ModelFileError, match="shapes"):
        GaussianPosePrior.load(tmp_path / "short.st")
    broken = prior.precision.clone()
    broken[0, 0] = torch.nan
    GaussianPosePrior(prior.mean, broken, prior.root).save(tmp_path / "nan.st")
    with pytest.raises(ModelFileError, match="NaN"):
        GaussianPosePrior.load(tmp_path / "nan.st")
