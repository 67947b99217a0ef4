"""The pose tower in the model: person features -> tokens at the <image> placeholders."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from PIL import Image

from posegpt.errors import InvalidInputError, ModelFileError
from posegpt.model import build_model, get_config, load_pretrained, save_pretrained
from posegpt.model.build import switched
from posegpt.model.config import PoseGPTConfig
from posegpt.model.io import read_model_config
from posegpt.model.pose_tower.cache import TowerInputs, build_cache, read_cache, stored_bundle
from posegpt.model.pose_tower.detector import DEFAULT_BUNDLE, NUM_LANDMARKS, Person, PoseDetector
from posegpt.model.pose_tower.features import (
    FEATURE_DIM,
    NOBODY_REPLY,
    USED,
    guessed_note,
    guessed_parts,
    tower_features,
)

QUESTION = [{"role": "user", "content": "<image>\nCan you predict the SMPL pose?"}]


def person(x0: float, width: float, legs_seen: bool = True) -> Person:
    rng = np.random.default_rng(int(x0 * 100))
    marks = np.column_stack(
        [x0 + width * rng.random(NUM_LANDMARKS), rng.random(NUM_LANDMARKS), np.ones(NUM_LANDMARKS)]
    ).astype(np.float32)
    if not legs_seen:
        marks[25:, 2] = 0.05
    box = np.array([x0, 0.0, x0 + width, 1.0], np.float32)
    return Person(marks, rng.normal(size=(NUM_LANDMARKS, 3)).astype(np.float32), box)


@pytest.fixture(scope="module")
def model(tokenizer):
    torch.manual_seed(0)
    return build_model(get_config("tiny", pose_tower="blazepose"), tokenizer)


def test_features_keep_the_largest_people_largest_first():
    people = [person(0.7, 0.1), person(0.4, 0.2), person(0.1, 0.3)]
    features = tower_features(people, slots=2)
    assert features.shape == (2, FEATURE_DIM)
    assert features[:, USED].tolist() == [1.0, 1.0]
    widths = features[:, -3]  # box width
    assert widths.tolist() == pytest.approx([0.3, 0.2])
    assert not tower_features([], slots=3).any()


def test_the_image_placeholders_read_the_person_tokens(model, make_batch):
    batch = make_batch(model)
    assert batch["input_ids"].eq(model.image_token_id).sum() == 4 * 2  # slots x tokens
    batch["pixel_values"] = tower_features([person(0.2, 0.3)], 4)[None]
    first = model(batch).logits
    batch["pixel_values"] = tower_features([person(0.5, 0.3)], 4)[None]
    assert not torch.allclose(first, model(batch).logits)  # the features reach the LM
    out = model(batch)
    (out.ce_loss + out.pose_loss).backward()
    assert model.pose_tower.mlp[0].weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.backbone.model.vision_tower.parameters())
    model.zero_grad()


def test_nobody_in_the_picture_gets_words_and_no_pose(model):
    reply = model.chat(QUESTION, image=tower_features([], 4), max_new_tokens=4)
    assert reply.text == NOBODY_REPLY and reply.poses == []


def test_parts_out_of_the_picture_are_named_as_guessed():
    cut = person(0.1, 0.5)
    cut.landmarks[25:, 1] = 1.2  # the legs below the picture's bottom edge (still "visible")
    features = tower_features([cut, person(0.7, 0.1)], 4)
    assert guessed_parts(features) == ["left leg", "right leg"]
    assert guessed_note(["left leg", "right leg"]) == (
        "(The left leg and right leg are out of the picture, so guessed.)"
    )
    hidden = tower_features([person(0.1, 0.5, legs_seen=False)], 4)  # in it, hidden: placed
    assert (
        guessed_parts(hidden) == [] and guessed_parts(tower_features([person(0.1, 0.5)], 4)) == []
    )
    below = person(0.1, 0.5)
    below.landmarks[[26, 28, 30, 32], 1] = 1.3  # the right leg only
    assert guessed_parts(tower_features([below], 4)) == ["right leg"]


def test_save_and_load_keep_the_projector(model, tmp_path):
    save_pretrained(model, tmp_path / "m")
    loaded = load_pretrained(tmp_path / "m")
    assert loaded.config.pose_tower == "blazepose"
    assert torch.equal(loaded.pose_tower.mlp[0].weight, model.pose_tower.mlp[0].weight)


def _pictures(root, shades: dict[str, int]) -> None:
    (root / "images").mkdir(parents=True)
    for name, shade in shades.items():
        Image.new("RGB", (64, 64), (shade, shade, shade)).save(root / "images" / name)


def test_stored_detections_are_served_without_running_the_detector(tmp_path):
    _pictures(tmp_path, {"empty.png": 90})
    build_cache(tmp_path, progress=False)
    assert read_cache(tmp_path) == {"images/empty.png": []}
    inputs = TowerInputs(tmp_path, slots=2)
    never = lambda: pytest.fail("the detector ran")  # noqa: E731
    assert not inputs("images/empty.png", None, never).any()


def test_detections_do_not_depend_on_how_many_processes_run_them(tmp_path):
    """Rendered scenes detected in two worker processes store what one process stores."""
    from posegpt.synth.scenes import SceneGenerator

    generator = SceneGenerator(seed=0, image_size=160)
    for root in (tmp_path / "one", tmp_path / "two"):
        (root / "images").mkdir(parents=True)
    for i in range(3):
        image = Image.fromarray(generator.sample().image)
        for root in (tmp_path / "one", tmp_path / "two"):
            image.save(root / "images" / f"{i}.png")
    build_cache(tmp_path / "one", progress=False)
    build_cache(tmp_path / "two", progress=False, workers=2)
    one, two = (np.load(tmp_path / root / "pose_tower/detections.npz") for root in ("one", "two"))
    assert one["count"].sum() >= 2  # people were found, so the detections are compared
    for key in ("names", "count", "landmarks", "world", "box"):
        assert np.array_equal(one[key], two[key]), key
    with pytest.raises(InvalidInputError, match="at least 1"):
        build_cache(tmp_path / "one", progress=False, workers=0)


@pytest.mark.parametrize("digests_stored", [True, False])
def test_identical_pictures_reuse_another_datasets_detections(
    tmp_path, monkeypatch, digests_stored
):
    """Only the pictures that changed are run again; the others take the stored people (here
    planted, as a blank picture's detection finds nobody), from caches with or without digests."""
    before, after = tmp_path / "before", tmp_path / "after"
    _pictures(before, {"a.png": 90, "b.png": 120})
    build_cache(before, progress=False)
    path = before / "pose_tower" / "detections.npz"
    stored = dict(np.load(path))
    stored["count"][:] = 1
    stored["landmarks"][:, 0] = 0.25
    if not digests_stored:  # a cache written before digests were stored
        del stored["digests"]
    np.savez_compressed(path, **stored)
    _pictures(after, {"a.png": 90, "b.png": 200, "c.png": 120})  # b changed, c is old b
    detected = []
    real_detect = PoseDetector.detect
    monkeypatch.setattr(
        PoseDetector,
        "detect",
        lambda self, image: detected.append(image) or real_detect(self, image),
    )
    _, reused = build_cache(after, progress=False, reuse=before)
    assert reused == 2 and [p.name for p in detected] == ["b.png"]
    people = read_cache(after)
    assert [len(people[f"images/{n}.png"]) for n in "abc"] == [1, 0, 1]
    assert people["images/c.png"][0].landmarks[0].tolist() == [0.25] * 3
    with pytest.raises(ModelFileError, match="not heavy's"):
        build_cache(after, "heavy", progress=False, reuse=before)


def test_detections_of_another_bundle_are_refused(tmp_path):
    _pictures(tmp_path, {"empty.png": 90})
    assert stored_bundle(tmp_path) is None  # nothing stored yet
    build_cache(tmp_path, "lite", progress=False)
    assert stored_bundle(tmp_path) == "lite"
    with pytest.raises(ModelFileError, match="--bundle heavy"):
        read_cache(tmp_path, "heavy")
    inputs = TowerInputs(tmp_path, slots=2, bundle="heavy")
    with pytest.raises(ModelFileError, match="lite detections"):
        inputs("images/empty.png", None, lambda: Image.new("RGB", (64, 64)))


def test_a_model_reads_the_bundle_its_config_names():
    assert PoseGPTConfig(pose_tower="blazepose").tower_bundle == "lite"  # older folders
    with pytest.raises(InvalidInputError, match="tower_bundle"):
        PoseGPTConfig(pose_tower="blazepose", tower_bundle="huge")
    assert read_model_config("default").tower_bundle == DEFAULT_BUNDLE


def test_a_trained_model_may_switch_the_bundle_it_reads(model):
    start = model.config
    wanted = dataclasses.replace(start, tower_bundle="heavy", num_layers=start.num_layers + 1)
    now = switched(start, wanted)
    assert now.tower_bundle == "heavy" and now.num_layers == start.num_layers  # nothing else
    assert model.tower_inputs.bundle == "lite"
    model.config = now
    try:
        assert model.tower_inputs.bundle == "heavy"  # the detector follows the config
    finally:
        model.config = start
