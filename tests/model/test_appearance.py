"""The pose tower's colours: what each person wears, sampled where their landmarks put the parts."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from PIL import Image

from posegpt.errors import InvalidInputError
from posegpt.model import build_model, get_config
from posegpt.model.build import grow
from posegpt.model.pose_tower.appearance import COLOUR_DIM, REGIONS, person_colours
from posegpt.model.pose_tower.cache import TowerInputs
from posegpt.model.pose_tower.detector import NUM_LANDMARKS, Person
from posegpt.model.pose_tower.features import (
    COLOUR_PART,
    FEATURE_DIM,
    feature_dim,
    tower_features,
)
from posegpt.model.pose_tower.landmarks import LANDMARK_INDEX

RED, BLUE, GREY = (200, 20, 20), (20, 20, 200), (128, 128, 128)
REGION = {name: i for i, name in enumerate(REGIONS)}


def standing(x: float, legs_out: bool = False) -> Person:
    """A person standing upright, centred at picture fraction x, 0.3 wide: shoulders at y 0.3,
    hips at 0.55, knees 0.7, ankles 0.85 (or all below the picture with `legs_out`)."""
    at = {
        "nose": (0.0, 0.2), "mouth_left": (0.02, 0.22), "mouth_right": (-0.02, 0.22),
        "left_eye": (0.02, 0.18), "right_eye": (-0.02, 0.18),
        "left_shoulder": (0.08, 0.3), "right_shoulder": (-0.08, 0.3),
        "left_elbow": (0.1, 0.42), "right_elbow": (-0.1, 0.42),
        "left_hip": (0.05, 0.55), "right_hip": (-0.05, 0.55),
        "left_knee": (0.05, 0.7), "right_knee": (-0.05, 0.7),
        "left_ankle": (0.05, 0.85), "right_ankle": (-0.05, 0.85),
        "left_heel": (0.05, 0.88), "right_heel": (-0.05, 0.88),
        "left_foot_index": (0.08, 0.9), "right_foot_index": (-0.08, 0.9),
    }  # fmt: skip
    marks = np.zeros((NUM_LANDMARKS, 3), np.float32)
    for name, (dx, y) in at.items():
        marks[LANDMARK_INDEX[name]] = (x + dx, y + (0.6 if legs_out and y > 0.6 else 0.0), 1.0)
    box = np.array([x - 0.15, 0.1, x + 0.15, 0.95], np.float32)
    return Person(marks, np.zeros((NUM_LANDMARKS, 3), np.float32), box)


def picture(top: tuple[int, int, int], bottom: tuple[int, int, int], x: float = 0.5) -> np.ndarray:
    """A 200 px grey picture: `top` from the shoulders to the hips, `bottom` below the hips."""
    pixels = np.full((200, 200, 3), GREY, np.uint8)
    columns = slice(int((x - 0.15) * 200), int((x + 0.15) * 200))
    pixels[60:110, columns] = top
    pixels[110:200, columns] = bottom
    return pixels


def rgb(colours: np.ndarray, region: str) -> np.ndarray:
    return (colours.reshape(len(REGIONS), 4)[REGION[region], :3] + 0.5) * 255


def test_colours_are_read_where_the_parts_are():
    colours = person_colours(picture(RED, BLUE), standing(0.5).landmarks, standing(0.5).box)
    assert colours.shape == (COLOUR_DIM,)
    assert rgb(colours, "top") == pytest.approx(RED, abs=1)
    assert rgb(colours, "bottom") == pytest.approx(BLUE, abs=1)
    swapped = person_colours(picture(BLUE, RED), standing(0.5).landmarks, standing(0.5).box)
    assert rgb(swapped, "top") == pytest.approx(BLUE, abs=1)


def test_parts_out_of_the_picture_have_no_colour():
    person = standing(0.5, legs_out=True)
    regions = person_colours(picture(RED, BLUE), person.landmarks, person.box).reshape(-1, 4)
    assert regions[REGION["shoes"]].tolist() == [0.0, 0.0, 0.0, 0.0]  # unseen: share 0
    assert regions[REGION["top"], 3] == 1.0
    assert 0.0 < regions[REGION["bottom"], 3] < 1.0  # the thighs in, the shins out


def test_features_with_the_picture_add_each_persons_colours():
    people = [standing(0.25), standing(0.75)]
    pixels = picture(RED, BLUE, 0.25)
    pixels[60:110, 115:175] = BLUE  # the second person's top
    plain, coloured = tower_features(people, 3), tower_features(people, 3, pixels)
    assert coloured.shape == (3, feature_dim(True)) == (3, FEATURE_DIM + COLOUR_DIM)
    assert torch.equal(coloured[:, :FEATURE_DIM], plain)
    tops = [rgb(coloured[i, COLOUR_PART].numpy(), "top") for i in range(2)]
    assert {tuple(np.round(t)) for t in tops} == {RED, BLUE}
    assert not coloured[2].any()  # an empty slot


def test_tower_inputs_read_the_picture_for_the_colours_of_stored_people():
    inputs = TowerInputs(None, slots=2, colours=True)
    inputs._people = {"images/a.png": [standing(0.5)]}  # as read from a dataset's cache
    features = inputs("images/a.png", None, lambda: Image.fromarray(picture(RED, BLUE)))
    assert rgb(features[0, COLOUR_PART].numpy(), "top") == pytest.approx(RED, abs=1)


@pytest.fixture(scope="module")
def towered(tokenizer):
    torch.manual_seed(0)
    model = build_model(get_config("tiny", pose_tower="blazepose"), tokenizer)
    return model, grow(model, dataclasses.replace(model.config, tower_colours=True))


def test_a_model_grown_by_colours_starts_as_its_origin_then_reads_them(towered):
    model, grown = towered
    plain = tower_features([standing(0.3)], 4)[None]
    red = tower_features([standing(0.3)], 4, picture(RED, BLUE, 0.3))[None]
    blue = tower_features([standing(0.3)], 4, picture(BLUE, RED, 0.3))[None]
    start = grown.pose_tower(red)
    assert torch.allclose(start, model.pose_tower(plain), atol=1e-6)  # colours start at zero
    start.sum().backward()
    assert grown.pose_tower.colours[-1].weight.grad.abs().sum() > 0
    with torch.no_grad():
        grown.pose_tower.colours[-1].weight.normal_()
    assert not torch.allclose(grown.pose_tower(red), grown.pose_tower(blue))
    with pytest.raises(InvalidInputError, match=f"{FEATURE_DIM + COLOUR_DIM}"):
        grown.pose_tower(plain)  # a model that reads colours needs them
