"""BlazePose detector: bundled, offline, one detection per person, boxes and world landmarks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from posegpt.errors import InvalidInputError
from posegpt.model.pose_tower.detector import (
    BUNDLES,
    DEFAULT_BUNDLE,
    MARGIN,
    NUM_LANDMARKS,
    STRIP_MIN_SCORE,
    Person,
    PoseDetector,
    box_area,
    box_inside,
    bundle_file,
    cut_by,
    merge_people,
    same_person,
)

REAL = Path(__file__).resolve().parents[2].parent / "shared/data/real"
H36M_IMAGE = (
    REAL / "mmpose_smpl/h36m/S1/S1_Directions_1.54138969/S1_Directions_1.54138969_000001.jpg"
)
COCO = REAL / "mmpose_smpl/coco"


@pytest.fixture(scope="module")
def detector() -> PoseDetector:
    return PoseDetector()


def person(x: float, score: float = 0.9) -> Person:
    marks = np.zeros((NUM_LANDMARKS, 3), np.float32)
    marks[:, 0] = x + np.linspace(0, 0.1, NUM_LANDMARKS)
    marks[:, 1] = np.linspace(0.2, 0.8, NUM_LANDMARKS)
    marks[:, 2] = score
    box = np.array([x, 0.2, x + 0.1, 0.8], np.float32)
    return Person(marks, np.zeros((NUM_LANDMARKS, 3), np.float32), box)


def test_the_bundles_ship_with_their_licence_notice():
    notice = bundle_file("lite").with_name("NOTICE.md").read_text()
    assert "Apache License" in notice
    for bundle in BUNDLES:
        assert bundle_file(bundle).is_file() and bundle_file(bundle).stat().st_size > 1_000_000
        assert bundle_file(bundle).name in notice
    assert DEFAULT_BUNDLE in BUNDLES


def test_an_unknown_bundle_is_refused_clearly(tmp_path):
    with pytest.raises(InvalidInputError, match="lite, heavy"):
        bundle_file("huge")
    with pytest.raises(InvalidInputError, match="or a .task file"):
        PoseDetector(tmp_path / "missing.task")


def test_merging_keeps_one_detection_per_person_the_surer_one():
    a, b = person(0.1, 0.6), person(0.5)
    merged = merge_people([a, b], [person(0.101, 0.9), person(0.8)])
    assert len(merged) == 3
    assert merged[0].score == pytest.approx(0.9)  # the surer duplicate replaced the first
    assert same_person(a, person(0.102)) and not same_person(a, b)


def test_a_strip_adds_nobody_it_barely_sees_beside_people_already_found():
    kept, barely = [person(0.1, 0.9)], person(0.6, STRIP_MIN_SCORE - 0.05)
    assert len(merge_people(kept, [barely])) == 1
    assert len(merge_people(kept, [person(0.6, STRIP_MIN_SCORE)])) == 2
    assert merge_people([], [barely])[0] is barely  # the only one found: kept
    # an unsure detection of someone already found still changes nothing
    assert merge_people(kept, [person(0.101, 0.3)])[0].score == pytest.approx(0.9)


def part(x0: float, x1: float) -> Person:
    """A sure detection whose landmarks span x0..x1 of the picture's width, lower body only."""
    marks = np.zeros((NUM_LANDMARKS, 3), np.float32)
    marks[:, 0] = np.linspace(x0, x1, NUM_LANDMARKS)
    marks[:, 1] = np.linspace(0.5, 0.8, NUM_LANDMARKS)
    marks[:, 2] = 0.9
    return Person(marks, np.zeros((NUM_LANDMARKS, 3), np.float32), np.array([x0, 0.5, x1, 0.8]))


def test_a_strip_adds_no_part_of_someone_found_that_it_cuts_through():
    kept = [person(0.3)]  # box 0.3..0.4 of the width
    inner = part(0.33, 0.4)  # inside it, and at the inner edge of the strip (0, 0.4)
    assert cut_by(inner.box, (0.0, 0.4)) and box_inside(inner.box, kept[0].box) == 1.0
    assert not same_person(kept[0], inner)
    assert len(merge_people(kept, [inner], (0.0, 0.4))) == 1
    # the same detection from a strip that does not cut it is someone new
    assert not cut_by(inner.box, (0.3, 0.7))
    assert len(merge_people(kept, [inner], (0.3, 0.7))) == 2
    # someone the strip cuts beside the people found is kept, and so is the only one found
    beside = part(0.5, 0.6)
    assert cut_by(beside.box, (0.3, 0.6)) and box_inside(beside.box, kept[0].box) == 0.0
    assert len(merge_people(kept, [beside], (0.3, 0.6))) == 2
    assert merge_people([], [inner], (0.0, 0.4)) == [inner]
    # the picture's own edges cut nobody
    assert not cut_by(part(0.0, 0.1).box, (0.0, 0.4)) and not cut_by(part(0.9, 1.0).box, (0.6, 1.0))


def test_nobody_in_a_blank_picture(detector):
    assert detector.detect(Image.new("RGB", (320, 240), (120, 130, 140))) == []


def test_a_picture_where_nobody_is_found_is_tried_once_more_with_a_margin(detector, monkeypatch):
    """The margin pass runs only when the picture and its strips find nobody, on the picture
    framed by MARGIN, and its landmarks come back in the picture's own fractions."""
    shapes = []
    framed_person = person(0.4)

    def run(picture, span):
        shapes.append(picture.shape[:2])
        return [framed_person] if picture.shape[:2] != (100, 80) else []

    monkeypatch.setattr(detector, "_run", run)
    found = detector.detect(Image.new("RGB", (80, 100)))
    pad = round(MARGIN * 100)
    assert shapes[-1] == (100 + 2 * pad, 80 + 2 * pad) and len(shapes) == 1 + 3 + 1
    assert len(found) == 1
    x = framed_person.landmarks[:, 0] * (80 + 2 * pad) - pad
    assert np.allclose(found[0].landmarks[:, 0], x / 80)
    assert np.allclose(found[0].landmarks[:, 1], (framed_person.landmarks[:, 1] * 130 - pad) / 100)
    assert np.array_equal(found[0].world, framed_person.world)
    shapes.clear()
    monkeypatch.setattr(detector, "_run", lambda picture, span: shapes.append(1) or [person(0.4)])
    assert len(detector.detect(Image.new("RGB", (80, 100)))) == 1 and len(shapes) == 4


@pytest.mark.skipif(not H36M_IMAGE.is_file(), reason="real photos (../shared/data/real) absent")
def test_the_margin_pass_finds_the_person_of_a_tight_crop_where_they_are(detector):
    picture = Image.open(H36M_IMAGE).convert("RGB")
    box = detector.detect(picture)[0].box * np.tile(picture.size, 2)
    crop = np.asarray(picture.crop(tuple(box)))
    plain, framed = detector._run(crop, (0, crop.shape[1])), detector._run_with_margin(crop)
    largest = max(framed, key=lambda p: box_area(p.box))
    assert len(plain) == 1 and same_person(plain[0], largest)


@pytest.mark.skipif(not H36M_IMAGE.is_file(), reason="real photos (../shared/data/real) absent")
def test_one_person_in_a_real_photo_with_metric_world_landmarks(detector):
    people = detector.detect(H36M_IMAGE)
    assert len(people) == 1
    found = people[0]
    assert found.landmarks.shape == found.world.shape == (NUM_LANDMARKS, 3)
    assert 0 <= found.box[0] < found.box[2] <= 1 and 0 <= found.box[1] < found.box[3] <= 1
    hips = found.world[[23, 24]]
    assert np.abs(hips.mean(0)).max() < 0.05  # world landmarks are hip-centred
    heel_to_nose = found.world[0, 1] - found.world[[29, 30], 1].mean()
    assert -2.0 < heel_to_nose < -1.2  # standing person, metres, y down


@pytest.mark.skipif(not H36M_IMAGE.is_file(), reason="real photos (../shared/data/real) absent")
def test_the_heavy_bundle_finds_the_same_person_with_other_landmarks(detector):
    lite, heavy = detector.detect(H36M_IMAGE), PoseDetector("heavy").detect(H36M_IMAGE)
    assert len(heavy) == len(lite) == 1
    assert same_person(heavy[0], lite[0])
    assert not np.allclose(heavy[0].world, lite[0].world, atol=1e-3)  # another network ran


@pytest.mark.skipif(not COCO.is_dir(), reason="real photos (../shared/data/real) absent")
def test_regions_find_more_people_in_a_group_photo(detector):
    annotations = json.loads((COCO / "test_coco.json").read_text())["annotations"]
    truth = sum(a["image_id"] == 197388 and a["num_keypoints"] > 0 for a in annotations)
    whole = PoseDetector(regions=False).detect(COCO / "000000197388.jpg")
    regions = detector.detect(COCO / "000000197388.jpg")
    assert len(whole) < len(regions) <= truth
