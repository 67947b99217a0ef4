"""The pose tower's colours: what each person wears, sampled where their landmarks put the parts;
and the person chooser that reads them with the request (which person a request means)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open

from posegpt.data.dataset import CROP_KEEP_KEY, CROP_KEY
from posegpt.data.formats import HmrData, coco17_to_hmr24, write_hmr
from posegpt.errors import InvalidInputError, ModelFileError
from posegpt.model import build_model, get_config, load_pretrained, save_pretrained
from posegpt.model.build import grow
from posegpt.model.pose_tower.appearance import COLOUR_DIM, REGIONS, person_colours
from posegpt.model.pose_tower.cache import TowerInputs
from posegpt.model.pose_tower.chooser import CHOOSER_FILE, PersonChooser, focused, with_colours
from posegpt.model.pose_tower.detector import NUM_LANDMARKS, Person
from posegpt.model.pose_tower.features import (
    COLOUR_PART,
    FEATURE_DIM,
    USED,
    feature_dim,
    tower_features,
)
from posegpt.model.pose_tower.landmarks import COCO17_LANDMARKS, LANDMARK_INDEX
from posegpt.model.text_embedder import SentenceEmbedder
from posegpt.train.chooser import (
    CROP_KIND,
    KINDS,
    ChooserExamples,
    chooser_examples,
    joined,
    train_chooser,
)

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


# The person chooser: which person in a picture of several a request means.

SLOTS = 4


def two_people(left: tuple[int, int, int], right: tuple[int, int, int]) -> np.ndarray:
    """A 200 px picture of two people standing at 0.25 and 0.75, tops `left` and `right`."""
    pixels = picture(left, GREY, 0.25)
    pixels[:, 100:] = picture(right, GREY, 0.75)[:, 100:]
    return pixels


PEOPLE = [standing(0.25), standing(0.75)]


def test_colours_are_read_back_where_each_person_stands():
    pixels = two_people(RED, BLUE)
    expected = tower_features(PEOPLE, SLOTS, pixels)
    assert torch.allclose(with_colours(tower_features(PEOPLE, SLOTS), pixels), expected, atol=1e-6)


def test_focusing_keeps_only_the_chosen_person_in_the_first_slot():
    features = tower_features(PEOPLE, SLOTS)
    out = focused(features, 1)
    assert torch.equal(out[0], features[1]) and not out[1:].any()


def test_the_chooser_learns_who_wears_what():
    """Trained on pictures whose red and blue tops stand on either side, it picks the person a
    request's colour names in held-out wordings."""
    pictures = [two_people(RED, BLUE), two_people(BLUE, RED)]
    people = torch.stack([tower_features(PEOPLE, SLOTS, p) for p in pictures])

    def examples(templates: list[str]) -> ChooserExamples:
        out = ChooserExamples(people)
        for template in templates:
            for index, red_slot in ((0, 0), (1, 1)):
                for colour, slot in (("red", red_slot), ("blue", 1 - red_slot)):
                    out.picture.append(index)
                    out.target.append(slot)
                    out.request.append(template.format(colour))
                    out.kind.append("outfit")
        return out

    train = examples(["What pose is the person in the {} shirt in?", "Show me the one in {}."])
    val = examples(["Give me the pose of whoever wears {}."])
    chooser, result = train_chooser(train, val, SentenceEmbedder(), epochs=30, progress=False)
    assert result.val_accuracy == {"outfit": 100.0}
    assert result.val_largest == {"outfit": 50.0}  # the largest person would be a coin toss


def test_no_choice_for_one_person_or_when_unsure():
    one = tower_features(PEOPLE[:1], SLOTS, two_people(RED, BLUE))
    two = tower_features(PEOPLE, SLOTS, two_people(RED, BLUE))
    torch.manual_seed(0)
    request = torch.nn.functional.normalize(torch.randn(384), dim=0)
    assert PersonChooser(384).choose(request, one) is None
    assert PersonChooser(384).choose(request, two) in (0, 1)
    assert PersonChooser(384, confidence=1.0).choose(request, two) is None


def test_a_model_folder_keeps_its_chooser(towered, tmp_path):
    tower_model = towered[0]
    chooser = PersonChooser(384, confidence=0.4)
    tower_model.chooser = chooser
    try:
        save_pretrained(tower_model, tmp_path / "m")
    finally:
        tower_model.chooser = None
    loaded = load_pretrained(tmp_path / "m")
    assert loaded.chooser.confidence == 0.4
    assert torch.equal(loaded.chooser.looks.weight, chooser.looks.weight)
    with safe_open(tmp_path / "m" / "model.safetensors", "pt") as weights:
        assert not any(name.startswith("chooser.") for name in weights.keys())  # noqa: SIM118
    (tmp_path / "m" / CHOOSER_FILE).write_bytes(b"not safetensors")
    with pytest.raises(ModelFileError, match="person chooser"):
        load_pretrained(tmp_path / "m")


@pytest.mark.parametrize(
    "chosen, answered, replies",
    [(1, 0, 2), (1, 1, 1), (0, 1, 1)],
    ids=["someone else", "the one answered", "the largest"],
)
def test_chat_answers_again_reading_only_the_person_the_chooser_picks(
    towered, monkeypatch, chosen, answered, replies
):
    """When the chooser picks someone other than the person the answer matches and the largest
    (whom the model reads first), chat answers again reading only that person; otherwise the
    first answer stands."""
    tower_model = towered[0]
    features = tower_features(PEOPLE, SLOTS)
    read = []

    def reply(input_ids, input_poses, generation, processors, pixel_values, seed=None):
        read.append(pixel_values[0].clone())
        return f"answer {len(read)} <POSE>.", torch.eye(3).repeat(1, 24, 1, 1), torch.zeros(8)

    monkeypatch.setattr(tower_model, "_reply", reply)
    monkeypatch.setattr(tower_model, "preprocess", lambda image: features.clone())
    monkeypatch.setattr(
        "posegpt.model.network.best_match", lambda poses, f: torch.tensor([answered])
    )
    tower_model.chooser = PersonChooser(384)
    monkeypatch.setattr(tower_model.chooser, "choose", lambda request, people: chosen)
    try:
        photo = Image.fromarray(picture(RED, BLUE))
        out = tower_model.chat([{"role": "user", "content": "The one in blue?"}], image=photo)
    finally:
        tower_model.chooser = None
    assert torch.equal(read[0], features)  # first, everyone
    assert len(read) == replies and out.text.startswith(f"answer {replies}")
    if replies == 2:
        assert torch.equal(read[1], focused(features, chosen))
        assert int((read[1][:, USED] > 0).sum()) == 1


def test_chooser_examples_name_the_described_person_and_the_person_a_crop_is_of(
    tmp_path, monkeypatch
):
    (tmp_path / "images/scenes/train").mkdir(parents=True)
    (tmp_path / "images/crops/train").mkdir(parents=True)
    Image.fromarray(two_people(RED, BLUE)).save(tmp_path / "images/scenes/train/0.png")
    Image.fromarray(two_people(BLUE, RED)).save(tmp_path / "images/crops/train/0_1.png")
    size = np.array([200.0, 200.0], np.float32)
    keypoints = np.stack(
        [np.c_[p.landmarks[list(COCO17_LANDMARKS), :2] * size, np.ones(17)] for p in PEOPLE]
    )
    kinds = {k: np.array([f"the {k} of the left one", f"the {k} of the right one"]) for k in KINDS}
    write_hmr(
        tmp_path / "image2pose/train.npz",
        HmrData(
            imgname=np.array(["scenes/train/0.png"] * 2),
            center=np.array([[50, 100], [150, 100]], np.float32),
            scale=np.ones(2, np.float32),
            pose=torch.eye(3).repeat(2, 24, 1, 1),
            shape=np.zeros((2, 10), np.float32),
            part=coco17_to_hmr24(keypoints),
            extras={
                "num_people": np.array([2, 2]),
                CROP_KEY: np.array(["crops/train/0_0.png", "crops/train/0_1.png"]),
                CROP_KEEP_KEY: np.array([1.0, 1.0]),
                **{f"description_{k}": v for k, v in kinds.items()},
            },
        ),
    )
    stored = {
        "images/scenes/train/0.png": PEOPLE,
        "images/crops/train/0_1.png": [standing(0.75), standing(0.25)],
    }
    monkeypatch.setattr("posegpt.train.chooser.read_cache", lambda root, bundle: stored)
    examples = chooser_examples(tmp_path, "train", SLOTS, progress=False)
    assert len(examples.people) == 2 and len(examples.target) == 2 * len(KINDS) + 1
    for request, target, kind in zip(examples.request, examples.target, examples.kind, strict=True):
        if kind == CROP_KIND:
            assert target == 0  # the largest person, whom the crop is of
        else:
            assert ("left" in request) == (target == 0) and "<image>" not in request
    assert rgb(examples.people[0, 0, COLOUR_PART].numpy(), "top") == pytest.approx(RED, abs=1)
    both = joined([examples, examples])  # two datasets' examples as one
    assert len(both.people) == 4 and both.target == examples.target * 2
    assert both.picture == examples.picture + [i + 2 for i in examples.picture]


def test_chooser_examples_need_rpe_descriptions(tmp_path, monkeypatch):
    write_hmr(
        tmp_path / "image2pose/val.npz",
        HmrData(
            imgname=np.array(["crops/val/0.png"]),
            center=np.array([[50, 50]], np.float32),
            scale=np.ones(1, np.float32),
            pose=torch.eye(3).repeat(1, 24, 1, 1),
            shape=np.zeros((1, 10), np.float32),
            part=np.zeros((1, 24, 3), np.float32),
        ),
    )
    monkeypatch.setattr("posegpt.train.chooser.read_cache", lambda root, bundle: {"x": PEOPLE})
    with pytest.raises(InvalidInputError, match="no RPE descriptions"):
        chooser_examples(tmp_path, "val", SLOTS, progress=False)
