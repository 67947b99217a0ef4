import numpy as np
import pytest
import torch

from posegpt.body import load_body_model
from posegpt.body.rotations import identity_pose
from posegpt.body.skeleton import JOINT_INDEX
from posegpt.synth.appearance import (
    PALETTE,
    SKIN_CONTRAST,
    SKIN_TONES,
    Outfit,
    Part,
    body_part_labels,
    sample_outfit,
)
from posegpt.synth.physique import sample_physique


@pytest.fixture(scope="module")
def body():
    return load_body_model()


@pytest.fixture(scope="module")
def rest(body):
    with torch.no_grad():
        out = body(identity_pose(1))
    return out.vertices[0].numpy(), out.joints[0].numpy()


def test_every_part_is_where_it_belongs(body, rest):
    parts = body_part_labels(body)
    vertices, joints = rest
    assert parts.shape == (len(vertices),)
    assert set(np.unique(parts)) == set(Part)
    height = {p: vertices[parts == p, 1].mean() for p in Part}
    assert height[Part.HAIR] > height[Part.HEAD] > height[Part.NECK] > height[Part.TORSO]
    assert height[Part.TORSO] > height[Part.PELVIS] > height[Part.THIGH] > height[Part.LOWER_LEG]
    assert height[Part.LOWER_LEG] > height[Part.FOOT]
    # In the T-pose the arm parts run outward from the shoulder to the hand.
    reach = {p: np.abs(vertices[parts == p, 0]).mean() for p in Part}
    assert reach[Part.TORSO] < reach[Part.UPPER_ARM] < reach[Part.LOWER_ARM] < reach[Part.HAND]
    wrist = joints[JOINT_INDEX["left_wrist"]]
    left_hand = vertices[(parts == Part.HAND) & (vertices[:, 0] > 0)]
    assert np.linalg.norm(left_hand - wrist, axis=1).mean() < 0.12
    # Left and right limbs get the same share of vertices.
    for part in (Part.UPPER_ARM, Part.LOWER_ARM, Part.THIGH, Part.FOOT):
        left = (vertices[parts == part, 0] > 0).sum()
        assert abs(left / (parts == part).sum() - 0.5) < 0.02


def test_labels_are_computed_once(body):
    assert body_part_labels(body) is body_part_labels(body)


@pytest.mark.parametrize("sleeves,legs", [("short", "shorts"), ("long", "trousers")])
def test_outfit_colours_follow_the_garments(body, sleeves, legs):
    parts = body_part_labels(body)
    outfit = Outfit("red", sleeves, "blue", legs, "white", SKIN_TONES[2], "black")
    colors = outfit.vertex_colors(parts)
    assert colors.shape == (len(parts), 3)

    def color_of(part):
        values = np.unique(colors[parts == part], axis=0)
        assert len(values) == 1
        return tuple(np.round(values[0], 4))

    def rounded(rgb):
        return tuple(np.round(np.float32(rgb), 4))

    assert color_of(Part.TORSO) == color_of(Part.UPPER_ARM) == rounded(PALETTE["red"])
    assert color_of(Part.PELVIS) == color_of(Part.THIGH) == rounded(PALETTE["blue"])
    assert color_of(Part.FOOT) == rounded(PALETTE["white"])
    assert color_of(Part.HAND) == color_of(Part.HEAD) == rounded(SKIN_TONES[2])
    long, covered = sleeves == "long", legs == "trousers"
    assert color_of(Part.LOWER_ARM) == rounded(PALETTE["red"] if long else SKIN_TONES[2])
    assert color_of(Part.LOWER_LEG) == rounded(PALETTE["blue"] if covered else SKIN_TONES[2])


def test_sampled_outfits_use_named_colours():
    rng = np.random.default_rng(0)
    outfits = [sample_outfit(rng) for _ in range(200)]
    assert all(o.top in PALETTE and o.bottom in PALETTE and o.shoes in PALETTE for o in outfits)
    assert all(o.top != o.bottom for o in outfits)
    for o in outfits:  # clothes never pass for bare skin
        for colour in (o.top, o.bottom):
            assert np.linalg.norm(np.subtract(PALETTE[colour], o.skin)) >= SKIN_CONTRAST
    assert {o.sleeves for o in outfits} == {"short", "long"}
    assert all(o.hair == "grey" for o in [sample_outfit(rng, elderly=True) for _ in range(20)])
    assert sum(sample_outfit(rng, bald_chance=1.0).hair is None for _ in range(5)) == 5


def test_shape_words_match_the_measured_bodies(body):
    rng = np.random.default_rng(0)
    physiques = [sample_physique(rng) for _ in range(160)]
    betas = torch.as_tensor(np.stack([p.betas for p in physiques]))
    with torch.no_grad():
        vertices = body(identity_pose(len(physiques)), betas=betas).vertices.numpy()
    stature = np.ptp(vertices[:, :, 1], axis=1)
    girth = np.ptp(vertices[:, :, 2], axis=1)  # front-to-back depth of the body
    for gender in ("male", "female"):
        adults = [
            i for i, p in enumerate(physiques) if p.gender == gender and p.age_group == "adult"
        ]
        tall = [stature[i] for i in adults if physiques[i].height == "tall"]
        short = [stature[i] for i in adults if physiques[i].height == "short"]
        average = [stature[i] for i in adults if physiques[i].height is None]
        assert tall and short and average
        assert min(tall) > max(average) > min(average) > max(short)
        heavy = [girth[i] for i in adults if physiques[i].build == "heavy-set"]
        slim = [girth[i] for i in adults if physiques[i].build == "slim"]
        assert np.mean(heavy) > np.mean(slim) + 0.03
    children = [stature[i] for i, p in enumerate(physiques) if p.age_group == "child"]
    grown = [stature[i] for i, p in enumerate(physiques) if p.age_group != "child"]
    assert max(children) < np.median(grown)
    nouns = {p.noun: p.betas[0] for p in physiques}  # anny gender: 0 male, 1 female
    assert nouns["man"] < 0.5 < nouns["woman"] and nouns["boy"] < 0.5 < nouns["girl"]
