"""The everyday benchmark's geometric predicates, validated on the pose families' own samples:
each predicate holds on (nearly) every sample of the families it describes and fails on
(nearly) every sample of a contrasting family."""

import pytest
import torch

from posegpt.body import load_body_model
from posegpt.errors import InvalidInputError
from posegpt.eval.predicates import parse
from posegpt.synth.poses import PoseGenerator

SAMPLES = 6
#: family -> predicates that hold on its samples; "{side}" / "{other}": the sample's side.
HOLDS = {
    "lying_on_back": ["torso horizontal", "facing up", "pelvis height < 0.3"],
    "lying_on_front": ["torso horizontal", "facing down"],
    "lying_on_side": ["torso horizontal", "facing sideways"],
    "squatting": ["knees bent > 80", "pelvis height < 0.65"],
    "sitting_chair": [
        "hips bent > 60", "knees bent > 50", "pelvis height < 0.75", "torso upright",
        "posture is sitting",
    ],
    "on_heels_phone": ["posture is kneeling", "knees height < 0.15"],
    "sitting_cross_legged": ["pelvis height < 0.3", "knees bent > 80"],
    "standing_relaxed": [
        "pelvis height > 0.75", "knees bent < 30", "elbows bent < 45", "torso upright",
        "wrists below shoulders", "hips bent < 20", "left_wrist left of right_wrist by 0.2",
    ],
    "t_pose": ["left_wrist far from right_wrist by 1.1", "elbows bent < 35"],
    "arms_crossed": ["elbows bent > 90", "left_wrist near right_elbow within 0.3"],
    "hands_on_hips": [
        "left_wrist near left_hip within 0.3", "right_wrist near right_hip within 0.3",
    ],
    "all_fours": ["facing down", "knees bent > 60", "wrists below shoulders by 0.25"],
    "yoga_tree": ["one ankle raised by 0.25", "{other}_ankle above {side}_ankle"],
    "yoga_downward_dog": ["pelvis above head by 0.2", "wrists below pelvis by 0.4"],
    "star_jump": ["wrists above shoulders", "left_ankle far from right_ankle by 0.45"],
    "cheering": ["wrists above head"],
    "praying": ["left_wrist near right_wrist within 0.2", "wrists in front of pelvis by 0.1"],
    "bending_forward": ["torso leans forward > 45", "wrists below knees"],
    "side_stretch": ["torso leans {other} > 8", "{side}_wrist above head"],
    "phone_call": ["{side}_wrist near head within 0.3", "either_elbow bent > 80"],
    "lunging": ["{side}_ankle in front of {other}_ankle by 0.4", "{side}_knee bent > 45"],
    "waving": ["{side}_wrist above {side}_shoulder"],
    "kneeling_one_knee": ["{side}_knee below {other}_knee by 0.2", "either_knee bent > 70"],
    "dancing_ballet": ["one ankle raised by 0.25", "either_ankle behind pelvis by 0.3"],
}  # fmt: skip
#: family -> predicates that fail on its samples.
FAILS = {
    "standing_relaxed": [
        "torso horizontal", "torso inverted", "facing up", "knees bent > 45",
        "either_wrist above head",
        "pelvis height < 0.6", "one ankle raised by 0.12", "torso leans forward > 20",
        "wrists near head within 0.3", "left_ankle far from right_ankle by 0.5",
    ],
    "lying_on_back": ["facing down", "torso upright", "posture is standing"],
    "lying_on_front": ["facing up"],
    "lying_on_side": ["facing up", "facing down"],
    "sitting_chair": ["pelvis height < 0.3", "torso leans back > 20"],
    "t_pose": ["wrists above head", "elbows bent > 45", "left_wrist near right_wrist within 0.5"],
    "lunging": ["{other}_ankle in front of {side}_ankle"],
    "side_stretch": ["torso leans {side} > 0", "{other}_wrist above head"],
    "yoga_downward_dog": ["head above pelvis", "torso upright"],
}  # fmt: skip


@pytest.fixture(scope="module")
def samples():
    generator = PoseGenerator(seed=3, body=load_body_model())
    return {f: generator.sample_many(SAMPLES, family=f) for f in sorted({*HOLDS, *FAILS})}


def _sided(text: str, sample) -> str:
    side = sample.params.get("side", "left")
    return text.format(side=side, other="right" if side == "left" else "left")


def _count(samples, text: str) -> int:
    return sum(parse(_sided(text, s))(s.joints) for s in samples)


@pytest.mark.parametrize("family", sorted(HOLDS))
def test_predicates_hold_on_their_families_samples(samples, family):
    for text in HOLDS[family]:
        assert _count(samples[family], text) >= SAMPLES - 1, (family, text)


@pytest.mark.parametrize("family", sorted(FAILS))
def test_predicates_fail_on_contrasting_families(samples, family):
    for text in FAILS[family]:
        assert _count(samples[family], text) <= 1, (family, text)


def test_every_predicate_form_is_validated():
    forms = {
        "above", "below", "in front of", "behind", "left of", "near", "far from", "bent >",
        "bent <", "height >", "height <", "torso upright", "torso horizontal", "torso inverted",
        "leans", "facing up", "facing down", "facing sideways", "raised", "either_", "posture is",
    }  # fmt: skip
    written = " | ".join(t for table in (HOLDS, FAILS) for ts in table.values() for t in ts)
    assert all(f in written for f in forms), [f for f in forms if f not in written]


def test_terms_quantify_over_sides():
    joints = torch.zeros(24, 3)
    joints[:, 1] = torch.linspace(0, 1, 24)  # joint i at height i / 23
    # wrists (20, 21) are above the head (15); the left wrist is below the right one
    assert parse("wrists above head")(joints)
    assert parse("either_wrist above left_wrist by 0.01")(joints)
    assert not parse("wrists above right_wrist by 0.01")(joints)
    assert parse("head height > 0.6")(joints) and not parse("head height < 0.6")(joints)


@pytest.mark.parametrize(
    "text",
    ["wrists over head", "nose above head", "left_wrist near head by 0.2",
     "left_wrist above head within 0.2", "head bent > 30", "torso sideways", "arms up",
     "posture is flying"],
)  # fmt: skip
def test_malformed_predicates_are_refused(text):
    with pytest.raises(InvalidInputError):
        parse(text)
