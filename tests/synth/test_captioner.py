import random
import re

import pytest
import roma
import torch

from posegpt.body import load_body_model
from posegpt.body.posecodes import NEUTRAL, facts, posecodes, posecodes_batch
from posegpt.body.rotations import flip_pose, identity_pose
from posegpt.body.skeleton import FLIP_PERMUTATION, JOINT_INDEX
from posegpt.errors import InvalidInputError
from posegpt.synth.captioner import (
    DETAILS,
    PoseCaptioner,
    caption_with_claims,
    statements,
    verify_claims,
)
from posegpt.synth.poses import PoseGenerator

SIDE_WORD = re.compile(r"\b(left|right)\b")


@pytest.fixture(scope="module")
def body():
    return load_body_model()


@pytest.fixture(scope="module")
def samples(body):
    return PoseGenerator(seed=5, body=body).sample_many(150)


def _swap(text: str) -> str:
    return SIDE_WORD.sub(lambda m: "right" if m.group(1) == "left" else "left", text)


def _mirror(joints: torch.Tensor) -> torch.Tensor:
    """The exact mirror image of (B, 24, 3) joints: x -> -x, left and right joints swapped."""
    return joints[:, list(FLIP_PERMUTATION)] * torch.tensor([-1.0, 1.0, 1.0])


def _family_codes(body, family: str, n: int = 8) -> list[dict]:
    samples = PoseGenerator(seed=1, families=[family], body=body).sample_many(n)
    return posecodes_batch(torch.stack([s.joints for s in samples]))


def test_left_means_the_subjects_left(body):
    pose = identity_pose(1)
    pose[0, JOINT_INDEX["left_shoulder"]] = roma.euler_to_rotmat("z", [80.0], degrees=True)
    pose[0, JOINT_INDEX["right_shoulder"]] = roma.euler_to_rotmat("z", [80.0], degrees=True)
    pose[0, JOINT_INDEX["right_knee"]] = roma.euler_to_rotmat("x", [90.0], degrees=True)
    with torch.no_grad():
        codes = posecodes(body(pose).joints[0])
    assert codes["left_hand_level"] == "above the head"  # +z raises the left (+x) arm
    assert codes["right_hand_level"] == "down"
    assert codes["right_knee"] == "bent" and codes["left_knee"] == "straight"
    assert codes["posture"] == "standing on one leg" and codes["posture_side"] == "left"
    text = caption_with_claims(codes, "long", rng=0).text
    assert "left hand" in text and "right hand" not in text


def test_every_claim_of_every_caption_holds(samples):
    """Round trip: each claim re-checked against posecodes recomputed from the joints, and
    the left/right words of its text against its side."""
    rng = random.Random(0)
    sided = 0
    for s in samples:
        codes = posecodes(s.joints)
        captions = [caption_with_claims(codes, d, rng) for d in DETAILS]
        assert verify_claims(s.joints, captions) == []
        sided += sum(1 for c in captions for claim in c.claims if claim.sides_named)
    assert sided > len(samples)  # plenty of left/right claims were checked


def test_a_wrong_claim_is_caught(samples):
    codes = posecodes(samples[0].joints)
    caption = caption_with_claims(codes, "long", rng=1)
    swapped = type(caption)(_swap(caption.text), caption.claims, caption.detail)
    if SIDE_WORD.search(caption.text):
        assert verify_claims(samples[0].joints, swapped)
    lying = posecodes(PoseGenerator(seed=0, families=["lying_on_back"]).sample().joints)
    assert verify_claims(samples[0].joints, caption_with_claims(lying, "short", rng=0))


def test_mirroring_swaps_left_and_right_in_codes_and_captions(body, samples):
    joints = torch.stack([s.joints for s in samples])
    for codes, mirrored in zip(
        posecodes_batch(joints), posecodes_batch(_mirror(joints)), strict=True
    ):
        for name, value in codes.items():
            other = mirrored[_swap(name.replace("_", " ")).replace(" ", "_")]
            if isinstance(value, float):
                assert other == pytest.approx(value, abs=2e-3)
            else:
                assert other == (_swap(value) if isinstance(value, str) else value)
        for detail in DETAILS:
            original = caption_with_claims(codes, detail, rng=3)
            flipped = caption_with_claims(mirrored, detail, rng=3)
            assert flipped.text == _swap(original.text)
            assert [c.side for c in flipped.claims] == [_swap(c.side) for c in original.claims]
    # Through the body model, whose mesh is not exactly symmetric, nearly all codes swap.
    rotmat = torch.stack([s.rotmat for s in samples[:40]])
    with torch.no_grad():
        flipped = posecodes_batch(body(flip_pose(rotmat)).joints)
    pairs = [
        (_swap(v) if isinstance(v, str) else v, f[_swap(k.replace("_", " ")).replace(" ", "_")])
        for c, f in zip(posecodes_batch(joints[:40]), flipped, strict=True)
        for k, v in c.items()
        if not isinstance(v, float)
    ]
    assert sum(a == b for a, b in pairs) / len(pairs) > 0.98


@pytest.mark.parametrize(
    ("family", "pattern"),
    [
        ("reaching_up", r"above the head|over the head"),
        ("cheering", r"above the head|over the head"),
        ("squatting", r"squat"),
        ("tuck_jump", r"squat|knees"),
        ("lying_on_back", r"lying on (the|their) back"),
        ("lying_on_front", r"lying face down"),
        ("kneeling_one_knee", r"kneeling on (the|their) (left|right) knee"),
        ("sitting_legs_out", r"sitting on the floor|seated on the ground"),
        ("hands_on_hips", r"on the hips"),
        ("bending_forward", r"bending forward|bent over"),
        ("plank", r"propped up face down"),
        ("yoga_cobra", r"lying face down"),
        ("sleeping_on_stomach", r"lying face down"),
        ("on_heels_phone", r"kneeling"),
        ("yoga_child", r"kneeling"),
        ("rowing", r"sitting on the floor|seated on the ground"),
        ("handstand", r"upside down"),
    ],
)
def test_families_give_their_salient_codes(body, family, pattern):
    hits = 0
    for i, codes in enumerate(_family_codes(body, family)):
        text = caption_with_claims(codes, "short", rng=i).text
        hits += bool(re.search(pattern, text))
    assert hits >= 6, family


@pytest.mark.parametrize("family", ["plank", "yoga_cobra", "sleeping_on_stomach", "lying_on_back"])
def test_face_down_and_lying_bodies_are_not_said_to_bend_or_sit(body, family):
    for i, codes in enumerate(_family_codes(body, family)):
        text = caption_with_claims(codes, "long", rng=i).text
        assert not re.search(r"bending forward|bent over|sitting|seated|upper body", text), text


def test_a_handstand_is_upside_down_and_a_downward_dog_is_not(body):
    handstands = _family_codes(body, "handstand")
    assert {c["posture"] for c in handstands} == {"upside down"}
    assert "upside down" not in {c["posture"] for c in _family_codes(body, "yoga_downward_dog")}
    for i, codes in enumerate(handstands):  # not read as if it stood
        text = caption_with_claims(codes, "long", rng=i).text
        assert not re.search(r"folded forward|leaning forward|hip level|drawn up", text), text


@pytest.mark.parametrize("family", ["on_heels_phone", "on_heels_reading", "yoga_child", "rowing"])
def test_kneeling_back_and_low_seats_are_not_said_to_squat_or_stand(body, family):
    # sitting back on the heels (upright or folded forward) kneels; a body whose pelvis is a
    # few centimetres above its feet sits on something low, whatever its legs do
    said = [c["posture"] for c in _family_codes(body, family)]
    wrong = {"squatting", "standing", "on all fours", "lying on the front"}
    assert sum(p in wrong for p in said) <= 1, said


def test_saliency_prefers_departures_from_standing(body):
    top = [statements(c)[0] for c in _family_codes(body, "reaching_up", 4)]
    assert all(st.kind == "hand_level" and st.value == "above the head" for st in top)
    quiet = _family_codes(body, "standing_attention", 4)
    assert all(c["posture"] == NEUTRAL["posture"] for c in quiet)
    assert all(max((st.saliency for st in statements(c)), default=0) < 5 for c in quiet)


def test_a_stream_per_pose_makes_each_poses_captions_its_own(body, samples):
    captioner = PoseCaptioner(body)
    rotmat = torch.stack([s.rotmat for s in samples[:3]])
    together = captioner.captions(rotmat, 3, [11, 12, 13])
    assert together[1] == captioner.captions(rotmat[1], 3, 12)
    assert together[1] == captioner.captions(rotmat[[2, 1]], 3, [5, 12])[1]
    with pytest.raises(InvalidInputError):
        captioner.captions(rotmat, 3, [11, 12])


def test_captions_are_reproducible_and_vary_with_the_seed(samples):
    codes = posecodes(samples[1].joints)
    assert (
        caption_with_claims(codes, "long", rng=11).text
        == caption_with_claims(codes, "long", rng=11).text
    )
    texts = {caption_with_claims(codes, "long", rng=seed).text for seed in range(12)}
    assert len(texts) > 3


def test_detail_levels_grow(samples):
    rng = random.Random(2)
    sentences = {d: [] for d in DETAILS}
    for s in samples[:60]:
        codes = posecodes(s.joints)
        for d in DETAILS:
            sentences[d].append(caption_with_claims(codes, d, rng).text.count("."))
    assert set(sentences["short"]) == {1}
    mean = {d: sum(v) / len(v) for d, v in sentences.items()}
    assert mean["short"] < mean["medium"] < mean["long"]


def test_facts_answer_from_the_codes(body):
    codes = _family_codes(body, "reaching_up", 1)[0]
    qa = dict(facts(codes))
    for side in ("left", "right"):
        answer = qa[f"Is the {side} arm raised?"]
        assert answer.startswith("Yes") == (codes[f"{side}_hand_level"] == "above the head")
        assert side in answer
    assert qa["Is the person lying down?"] == "No."
    lying = dict(facts(_family_codes(body, "lying_on_back", 1)[0]))
    assert lying["Is the person lying down?"] == "Yes."


def test_captioner_api_on_rotations_and_joints(body, samples):
    captioner = PoseCaptioner(body)
    one = captioner.captions(samples[0].rotmat, n=3, rng=0)
    assert len(one) == 3 and all(isinstance(t, str) and t.endswith(".") for t in one)
    batch = captioner.captions(torch.stack([s.rotmat for s in samples[:4]]), n=2, rng=0)
    assert len(batch) == 4 and all(len(texts) == 2 for texts in batch)
    with torch.no_grad():
        out = body(samples[0].rotmat[None])
    from_joints = captioner.captions_from_joints(out.joints[0], 3, 0, out.keypoints3d[0, 0])
    assert from_joints == one
    assert captioner.caption(samples[0].rotmat, "short", rng=4).count(".") == 1


def test_bad_input_is_refused(samples):
    with pytest.raises(InvalidInputError):
        posecodes(torch.zeros(23, 3))
    with pytest.raises(InvalidInputError):
        posecodes(torch.full((24, 3), float("nan")))
    with pytest.raises(InvalidInputError):
        caption_with_claims(posecodes(samples[0].joints), "epic")
    with pytest.raises(InvalidInputError):
        PoseCaptioner().captions_from_joints(samples[0].joints, n=0)
