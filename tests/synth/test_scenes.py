import re
from collections import defaultdict

import numpy as np
import pytest
import torch

from posegpt.errors import InvalidInputError
from posegpt.synth.appearance import HAIR_COLORS, PALETTE, SKIN_TONES, Outfit, body_part_labels
from posegpt.synth.physique import Physique
from posegpt.synth.poses import PoseGenerator
from posegpt.synth.referring import HORIZONTAL_WORDS
from posegpt.synth.scenes import (
    DESCRIPTION_KINDS,
    PersonSpec,
    SceneGenerator,
    crop_box,
    crop_person,
)

SIZE = 112
COLOURS = "|".join(PALETTE)
GARMENTS = "long-sleeved shirt|t-shirt|shorts|trousers"
WHERE = {w: "position" for words in HORIZONTAL_WORDS.values() for w in words}
WHERE.update({"in the front": "depth", "in the back": "depth"})


@pytest.fixture(scope="module")
def generator():
    return SceneGenerator(seed=0, image_size=SIZE)


@pytest.fixture(scope="module")
def scenes(generator):
    return [generator.sample(n) for n in (1, 2, 3, 4, 4)]


def standing_person(generator, top, bottom, position, yaw=0.0, family="standing_attention"):
    pose = generator.pose_generator.sample(family)
    physique = Physique(
        np.array([0.0, 0.7, 0.5, 0.5, 0.37, 0.5], dtype=np.float32), "male", "adult", None, None
    )
    outfit = Outfit(top, "long", bottom, "trousers", "black", SKIN_TONES[1], "brown")
    return PersonSpec(pose.rotmat, pose.family, physique, outfit, yaw, position)


@pytest.fixture(scope="module")
def meshes(generator, scenes):
    """Per person of `scenes`: (world mesh, mesh of the camera-frame pose), one body pass each."""
    people = [p for scene in scenes for p in scene.people]
    stack = {k: torch.stack([getattr(p, k) for p in people]) for k in ("rotmat", "rotmat_world")}
    betas, transl = torch.stack([p.betas for p in people]), torch.stack([p.transl for p in people])
    with torch.no_grad():
        world = generator.body(stack["rotmat_world"], betas, transl).vertices.numpy()
        seen = generator.body(stack["rotmat"], betas).vertices.numpy()
    return list(zip(world, seen, strict=True))


def test_people_stand_on_the_floor(meshes):
    for world, _ in meshes:
        assert abs(world[:, 1].min()) < 1e-4


def test_camera_pose_is_the_world_pose_seen_by_the_camera(scenes, meshes):
    people = [(scene.camera, p) for scene in scenes for p in scene.people]
    for (camera, person), (world, seen) in zip(people, meshes, strict=True):
        expected = (world - person.transl.numpy()) @ camera.rotation.T
        np.testing.assert_allclose(seen, expected, atol=1e-4)
        torch.testing.assert_close(person.rotmat[1:], person.rotmat_world[1:])


def test_boxes_hold_the_person_and_the_keypoints(scenes):
    for scene in scenes:
        for person in scene.people:
            x0, y0, x1, y1 = person.box
            assert 0 <= x0 < x1 <= SIZE and 0 <= y0 < y1 <= SIZE
            xy = person.keypoints2d[:, :2]
            assert np.all((xy >= (x0 - 0.5, y0 - 0.5)) & (xy <= (x1 + 0.5, y1 + 0.5)))
            assert person.keypoints2d[:, 2].sum() >= 3  # the person is seen


def test_position_words_follow_the_box_centres(scenes):
    checked = 0
    for scene in scenes:
        centres = [(p.box[0] + p.box[2]) / 2 for p in scene.people]
        ranks = np.argsort(np.argsort(centres))
        for person, rank in zip(scene.people, ranks, strict=True):
            word = person.attributes["position"]
            if word is not None:
                assert HORIZONTAL_WORDS[len(scene.people)].index(word) == rank
                checked += 1
    assert checked >= 6


def test_person_on_the_left_of_the_floor_is_on_the_left_of_the_image(generator):
    scene = generator.compose(
        [
            standing_person(generator, "red", "blue", (-1.0, 0.0)),
            standing_person(generator, "green", "grey", (1.0, 0.0)),
        ]
    )
    left, right = scene.people
    assert (left.box[0] + left.box[2]) / 2 < (right.box[0] + right.box[2]) / 2
    assert left.attributes["position"] == "on the left"
    assert "on the left" in left.descriptions["summary"]


def test_an_occluded_person_shows_fewer_keypoints(generator):
    behind = standing_person(generator, "red", "blue", (0.0, -2.5))
    front = standing_person(generator, "green", "grey", (0.05, 0.0))
    alone = generator.compose([behind]).people[0]
    hidden = generator.compose([behind, front]).people[0]
    assert alone.keypoints2d[:, 2].sum() >= 15
    assert hidden.keypoints2d[:, 2].sum() < alone.keypoints2d[:, 2].sum() - 5


def test_a_person_facing_away_hides_the_face(generator):
    facing = generator.compose([standing_person(generator, "red", "blue", (0.0, 0.0))])
    away = generator.compose([standing_person(generator, "red", "blue", (0.0, 0.0), np.pi)])
    face = slice(0, 3)  # nose and eyes
    assert facing.people[0].keypoints2d[face, 2].all()
    assert not away.people[0].keypoints2d[face, 2].any()


def text_fits(text: str, a: dict, family: str, families: dict) -> bool:
    """Whether every claim the description `text` makes holds for person `a` (of `family`)."""
    text, _, caption = text.partition(" in this pose: ")
    if caption and caption != a["pose"] and families[caption] != family:
        return False
    text, _, behaviour = text.partition("who is ")
    if behaviour and behaviour != a["behaviour"] and families[behaviour] != family:
        return False
    noun = re.search(r"\b(man|woman|boy|girl)\b", text)
    if noun and noun.group(1) != a["noun"]:
        return False
    for word, key in [("tall", "height"), ("short", "height"), ("slim", "build")]:
        if re.search(rf"\b{word}\b", text) and a[key] != word:
            return False
    for word, key in [("heavy-set", "build"), ("muscular", "build")]:
        if word in text and a[key] != word:
            return False
    if "elderly" in text and a["age_group"] != "elderly":
        return False
    if re.search(r"\bbald\b", text) and a["hair"] is not None:
        return False
    for colour, garment in re.findall(rf"\b({COLOURS}) ({GARMENTS})\b", text):
        worn = {(a["top"], a["top_garment"]), (a["bottom"], a["bottom_garment"])}
        if (colour, garment) not in worn:
            return False
    for colour in re.findall(rf"\b({'|'.join(HAIR_COLORS)}) hair\b", text):
        if colour != a["hair"]:
            return False
    for colour in re.findall(rf"\b({COLOURS}) shoes\b", text):
        if colour != a["shoes"]:
            return False
    for words, key in WHERE.items():
        if re.search(rf"\b{words}\b", text) and a[key] != words:
            return False
    return not ("near the door" in text and not a["near_door"])


def test_each_description_fits_its_person_only(scenes):
    for scene in scenes:
        attributes = [p.attributes for p in scene.people]
        families = {a["pose"]: p.family for a, p in zip(attributes, scene.people, strict=True)}
        families.update({a["behaviour"]: a["family"] for a in attributes})
        for kind in DESCRIPTION_KINDS:
            texts = [p.descriptions[kind] for p in scene.people]
            assert len(set(texts)) == len(texts)
            for i, text in enumerate(texts):
                for j, person in enumerate(scene.people):
                    fits = text_fits(text, attributes[j], person.family, families)
                    assert fits == (i == j), (kind, text, attributes[j])


def test_the_absent_description_fits_nobody_in_the_scene(scenes):
    assert sum(scene.absent is not None for scene in scenes) >= 3  # decoys are usually found
    for scene in scenes:
        if scene.absent is None:
            continue
        assert "who is " in scene.absent
        attributes = [p.attributes for p in scene.people]
        # the decoy's behaviour is no one's here: it names a family of nobody in the scene
        families = defaultdict(str, {a["behaviour"]: a["family"] for a in attributes})
        for person, a in zip(scene.people, attributes, strict=True):
            assert not text_fits(scene.absent, a, person.family, families), (scene.absent, a)


def test_descriptions_name_what_they_describe(scenes):
    for scene in scenes:
        for person in scene.people:
            a, d = person.attributes, person.descriptions
            assert set(d) == set(DESCRIPTION_KINDS)
            assert f"{a['top']} {a['top_garment']}" in d["outfit"]
            assert a["behaviour"] in d["behaviour"] and a["behaviour"] in d["summary"]
            assert d["pose"].endswith(a["pose"])


@pytest.mark.parametrize("top,bottom", [("red", "blue"), ("green", "orange")])
def test_outfit_words_match_the_drawn_colours(generator, top, bottom):
    scene = generator.compose([standing_person(generator, top, bottom, (0.0, 0.0))])
    person = scene.people[0]
    assert (person.attributes["top"], person.attributes["bottom"]) == (top, bottom)
    kp = person.keypoints2d[:, :2]
    chest = (kp[5] + kp[6]) * 0.35 + (kp[11] + kp[12]) * 0.15  # shoulders 5, 6; hips 11, 12
    thigh = (kp[11] + kp[13]) * 0.5  # on the left thigh (knee 13), not between the legs
    chroma = {n: np.asarray(c) / sum(c) for n, c in PALETTE.items()}

    def named_colour(xy):
        """The palette colour most lit pixels around `xy` show (shading keeps the chromaticity;
        in pixels the light barely reaches, it is noise)."""
        x, y = int(xy[0]), int(xy[1])
        votes = []
        for rgb in scene.image[y - 2 : y + 3, x - 2 : x + 3].reshape(-1, 3).astype(float):
            if rgb.sum() > 60:
                votes.append(min(chroma, key=lambda n: np.abs(chroma[n] - rgb / rgb.sum()).sum()))
        return max(set(votes), key=votes.count)

    assert named_colour(chest) == top
    assert named_colour(thigh) == bottom


def test_scenes_are_reproducible(generator):
    def scene(seed):
        poses = PoseGenerator(seed, families=("standing_relaxed", "waving"), body=generator.body)
        return SceneGenerator(seed, 64, generator.body, poses).sample(2)

    first, again, other = scene(7), scene(7), scene(8)
    np.testing.assert_array_equal(first.image, again.image)
    assert [p.descriptions for p in first.people] == [p.descriptions for p in again.people]
    for a, b in zip(first.people, again.people, strict=True):
        torch.testing.assert_close(a.rotmat, b.rotmat)
    assert not np.array_equal(first.image, other.image)


def test_a_scene_is_the_same_whatever_the_scenes_before_it_drew(generator):
    def second_scene(first_people: int):
        poses = PoseGenerator(5, families=("standing_relaxed", "waving"), body=generator.body)
        scenes = SceneGenerator(5, 64, generator.body, poses)
        scenes.sample(first_people)  # draws more or fewer people, poses and words
        return scenes.sample(2)

    after_one, after_three = second_scene(1), second_scene(3)
    np.testing.assert_array_equal(after_one.image, after_three.image)
    assert [p.descriptions for p in after_one.people] == [
        p.descriptions for p in after_three.people
    ]
    assert after_one.absent == after_three.absent


def test_crops_are_squares_around_the_person(scenes):
    scene = scenes[0]
    person = scene.people[0]
    x0, y0, x1, y1 = crop_box(person.box, margin=0.2)
    assert x1 - x0 == pytest.approx(y1 - y0)
    assert x0 < person.box[0] and y0 < person.box[1] and x1 > person.box[2] and y1 > person.box[3]
    crop = crop_person(scene, 0, size=48)
    assert crop.shape == (48, 48, 3) and crop.dtype == np.uint8
    # The crop's centre shows the pixel at the box centre.
    cx, cy = int((person.box[0] + person.box[2]) / 2), int((person.box[1] + person.box[3]) / 2)
    assert np.abs(crop[24, 24].astype(int) - scene.image[cy, cx].astype(int)).max() < 40


def test_partial_crops_keep_the_top_of_the_person(scenes):
    person = scenes[0].people[0]
    x0, y0, x1, y1 = person.box
    whole, top = crop_box(person.box, 0.2), crop_box(person.box, 0.2, keep=0.5)
    assert top[3] - top[1] == pytest.approx(top[2] - top[0])  # still a square
    assert top[3] < whole[3] and top[1] < y0  # the head stays in, the legs leave the picture
    assert (top[1] + top[3]) / 2 == pytest.approx(y0 + 0.25 * (y1 - y0))  # the top half's centre
    top_crop = crop_person(scenes[0], 0, 48, keep=0.5)
    assert not np.array_equal(top_crop, crop_person(scenes[0], 0, 48))
    for keep in (0.0, 1.5):
        with pytest.raises(InvalidInputError, match="keep"):
            crop_box(person.box, 0.2, keep)


def test_bad_requests_are_refused(generator, scenes):
    with pytest.raises(InvalidInputError):
        generator.sample(5)
    with pytest.raises(InvalidInputError):
        SceneGenerator(image_size=8, body=generator.body)
    with pytest.raises(InvalidInputError):
        crop_person(scenes[0], 3)
    bent = standing_person(generator, "red", "blue", (0.0, 0.0))
    bent.pose = bent.pose * 2.0
    with pytest.raises(InvalidInputError, match="not rotations"):
        generator.compose([bent])
    twins = [standing_person(generator, "red", "blue", (x, 0.0)) for x in (0.0, 0.05)]
    with pytest.raises(InvalidInputError, match="told apart"):
        generator.compose(twins)


def test_part_labels_come_from_the_scene_body(generator):
    assert (
        len(body_part_labels(generator.body))
        == generator.body(torch.eye(3).expand(1, 24, 3, 3)).vertices.shape[1]
    )
