"""Model soups: the average of models trained from one start (`posegpt soup`)."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch
from typer.testing import CliRunner

from posegpt.cli import app
from posegpt.errors import InvalidInputError
from posegpt.model import build_model, get_config, load_pretrained, save_pretrained
from posegpt.model.soup import average_models

QUESTION = [{"role": "user", "content": "The person waves the left hand. Give the SMPL pose."}]


@pytest.fixture(scope="module")
def models(tokenizer):
    out = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        out.append(build_model(get_config("tiny"), tokenizer).eval())
    return out


def test_the_soup_holds_the_mean_of_every_weight_and_leaves_its_models_alone(models):
    before = [{k: v.clone() for k, v in m.state_dict().items()} for m in models]
    soup = average_models(models)
    for name, weight in soup.state_dict().items():
        expected = (models[0].state_dict()[name] + models[1].state_dict()[name]) / 2
        assert torch.allclose(weight, expected, atol=1e-6), name
    for model, state in zip(models, before, strict=True):
        assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())
    assert soup.config == models[0].config


def test_a_model_averaged_with_itself_answers_as_it_does(models):
    soup = average_models([models[0], models[0]])
    a = models[0].chat(QUESTION, max_new_tokens=6)
    b = soup.chat(QUESTION, max_new_tokens=6)
    assert a.text == b.text and len(a.poses) == len(b.poses)
    assert all(torch.equal(p, q) for p, q in zip(a.poses, b.poses, strict=True))


def test_a_switchable_setting_is_the_first_models(models, tokenizer):
    torch.manual_seed(2)
    lite = build_model(get_config("tiny", pose_tower="blazepose"), tokenizer)
    heavy = copy.deepcopy(lite)
    heavy.config = dataclasses.replace(lite.config, tower_bundle="heavy")
    assert average_models([heavy, lite]).config.tower_bundle == "heavy"
    assert average_models([lite, heavy]).config.tower_bundle == "lite"


def test_models_of_other_settings_or_one_alone_are_refused(models, tokenizer):
    other = build_model(dataclasses.replace(get_config("tiny"), pose_head_hidden=16), tokenizer)
    with pytest.raises(InvalidInputError, match="pose_head_hidden"):
        average_models([models[0], other])
    with pytest.raises(InvalidInputError, match="at least two"):
        average_models(models[:1])


def test_the_command_writes_a_model_folder(models, tmp_path):
    paths = [save_pretrained(m, tmp_path / f"m{i}") for i, m in enumerate(models)]
    result = CliRunner().invoke(app, ["soup", *map(str, paths), "--out", str(tmp_path / "soup")])
    assert result.exit_code == 0, result.output
    loaded = load_pretrained(tmp_path / "soup").state_dict()
    for name, weight in average_models(models).state_dict().items():
        assert torch.equal(loaded[name], weight), name
