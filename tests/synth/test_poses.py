import re

import numpy as np
import pytest
import roma
import torch

from posegpt.body import load_body_model
from posegpt.body.limits import JOINT_LIMITS, clamp_to_limits, limit_violation
from posegpt.body.posecodes import heading, posecodes_batch
from posegpt.body.rotations import flip_pose, identity_pose
from posegpt.body.skeleton import JOINT_INDEX, JOINT_NAMES
from posegpt.errors import InvalidInputError
from posegpt.synth.plausibility import ground_offset, is_plausible, self_intersecting
from posegpt.synth.pose_families import FAMILY_LIST
from posegpt.synth.poses import (
    FAMILIES,
    FAMILY_GROUPS,
    FAMILY_INFO,
    PoseGenerator,
    check_family,
    template_pose,
)


@pytest.fixture(scope="module")
def body():
    return load_body_model()


@pytest.fixture(scope="module")
def samples(body):
    return PoseGenerator(seed=0, body=body).sample_many(160)


def test_families_are_many_stable_names_with_metadata():
    assert len(FAMILIES) >= 40 and len(set(FAMILIES)) == len(FAMILIES)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", name) for name in FAMILIES)
    assert sorted(n for names in FAMILY_GROUPS.values() for n in names) == sorted(FAMILIES)
    for family in FAMILY_LIST:
        assert (
            family.phrase
            and family.parts
            and set(family.parts) <= {"arms", "legs", "torso", "head"}
        )
        if family.side is not None:
            assert "{side}" in family.sided_phrase
            assert "right" in family.describe("right") and "left" in family.describe("left")


def test_unknown_family_names_the_valid_ones(body):
    with pytest.raises(InvalidInputError, match="standing_relaxed"):
        PoseGenerator(families=["moonwalking"], body=body)
    with pytest.raises(InvalidInputError, match="unknown pose family"):
        PoseGenerator(body=body).sample("moonwalking")
    with pytest.raises(InvalidInputError):
        check_family("")


def test_same_seed_same_poses_one_at_a_time_or_batched(body):
    batch = PoseGenerator(seed=7, body=body).sample_many(5)
    again = PoseGenerator(seed=7, body=body).sample_many(5)
    one_by_one = PoseGenerator(seed=7, body=body)
    singles = [one_by_one.sample() for _ in range(5)]
    for a, b, c in zip(batch, again, singles, strict=True):
        assert torch.equal(a.rotmat, b.rotmat)
        assert a.family == c.family and a.params == c.params
        assert torch.allclose(a.rotmat, c.rotmat, atol=1e-6)  # batching may round differently
    other = PoseGenerator(seed=8, body=body).sample_many(5)
    assert not all(torch.equal(a.rotmat, b.rotmat) for a, b in zip(batch, other, strict=True))


def test_poses_drawn_at_a_place_are_that_places_and_keep_the_next_ones_next(body):
    sequence = PoseGenerator(seed=7, body=body).sample_many(5)
    generator = PoseGenerator(seed=7, body=body)
    placed = generator.sample_many(2, at=3)
    assert [p.family for p in placed] == [p.family for p in sequence[3:]]
    assert all(
        torch.allclose(a.rotmat, b.rotmat, atol=1e-6)
        for a, b in zip(placed, sequence[3:], strict=True)
    )
    assert torch.allclose(generator.sample().rotmat, sequence[0].rotmat, atol=1e-6)
    with pytest.raises(InvalidInputError):
        generator.sample_many(1, at=-1)


def test_every_family_template_is_within_limits_and_free_of_intersections(body):
    centres = torch.stack([template_pose(f)[0] for f in FAMILY_LIST])
    assert limit_violation(centres).amax() < 0.5
    with torch.no_grad():
        joints = body(centres).joints
    bad = [f.name for f, hit in zip(FAMILY_LIST, self_intersecting(joints), strict=True) if hit]
    assert not bad


def test_samples_are_plausible_grounded_and_carry_their_joints(body, samples):
    rotmat = torch.stack([s.rotmat for s in samples])
    joints = torch.stack([s.joints for s in samples])
    assert rotmat.dtype == torch.float32 and rotmat.shape == (160, 24, 3, 3)
    assert roma.is_rotation_matrix(rotmat.double(), epsilon=1e-4)
    assert is_plausible(rotmat, joints).all()
    with torch.no_grad():
        out = body(rotmat[:8])
    assert torch.allclose(out.joints, joints[:8], atol=1e-5)
    offsets = torch.tensor([s.ground_offset for s in samples[:8]])
    assert torch.allclose(offsets, ground_offset(out.vertices), atol=1e-5)
    assert (offsets < joints[:8, :, 1].amin(-1)).all()  # the soles lie below every joint
    assert len({s.family for s in samples}) > 30


def test_mirroring_keeps_the_family_and_records_the_side(body):
    samples = PoseGenerator(seed=3, families=["kneeling_one_knee"], body=body).sample_many(24)
    sides = [s.params["side"] for s in samples]
    assert set(sides) == {"left", "right"}
    for s in samples:
        assert s.family == "kneeling_one_knee"
        assert s.params["mirrored"] == (s.params["side"] == "right")
        down, up = s.params["side"], "right" if s.params["side"] == "left" else "left"
        knees = s.joints[[JOINT_INDEX[f"{down}_knee"], JOINT_INDEX[f"{up}_knee"]], 1]
        assert knees[0] < knees[1] - 0.2  # the named knee is the one on the ground
        assert f"{down} knee" in s.params["description"]


def test_canonical_poses_face_forward_and_random_yaw_turns_them(body):
    fixed = PoseGenerator(seed=1, families=["standing_relaxed"], random_yaw=False, body=body)
    turned = PoseGenerator(seed=1, families=["standing_relaxed"], body=body)
    yaw_fixed = heading(torch.stack([s.joints for s in fixed.sample_many(16)]))
    yaw_turned = heading(torch.stack([s.joints for s in turned.sample_many(16)]))
    assert yaw_fixed.abs().max() < np.radians(8)
    assert yaw_turned.abs().max() > np.radians(60)


@pytest.mark.parametrize("family", ["lying_on_back", "lying_on_front", "lying_on_side"])
def test_lying_families_are_horizontal(body, family):
    for s in PoseGenerator(seed=2, families=[family], body=body).sample_many(6):
        trunk = s.joints[JOINT_INDEX["neck"]] - s.joints[JOINT_INDEX["pelvis"]]
        assert abs(float(trunk[1])) < 0.2 * float(trunk.norm())


def test_face_down_sleepers_rest_their_arms_on_the_floor(body):
    samples = PoseGenerator(seed=4, families=["sleeping_on_stomach"], body=body).sample_many(8)
    joints = torch.stack([s.joints for s in samples])
    wrists = joints[:, [JOINT_INDEX["left_wrist"], JOINT_INDEX["right_wrist"]], 1].amin(-1)
    below = joints[:, JOINT_INDEX["pelvis"], 1] - wrists
    assert below.mean() < 0.1, below  # the hands lie by the head, not through the floor


@pytest.mark.parametrize(
    ("family", "posture"),
    [
        ("sleeping_on_stomach", "lying on the front"),
        ("yoga_cobra", "lying on the front"),  # hips on the floor, facing it: not sitting
        ("plank", "propped up face down"),  # a straight body: not bending at the waist
        ("bending_forward", "bending forward"),
        ("yoga_downward_dog", "bending forward"),
        ("sit_up", "sitting on the floor"),
        ("all_fours", "on all fours"),
    ],
)
def test_families_get_the_posture_a_person_would_name(body, family, posture):
    samples = PoseGenerator(seed=6, families=[family], body=body).sample_many(12)
    postures = [c["posture"] for c in posecodes_batch(torch.stack([s.joints for s in samples]))]
    assert postures.count(posture) >= 9, postures


def test_limits_reject_impossible_joints_and_clamping_repairs_them():
    pose = identity_pose(3)
    knee, head = JOINT_INDEX["left_knee"], JOINT_INDEX["head"]
    pose[0, knee] = roma.euler_to_rotmat("x", [-60.0], degrees=True)  # bent backwards
    pose[1, head] = roma.euler_to_rotmat("y", [150.0], degrees=True)  # owl turn
    assert is_plausible(pose).tolist() == [False, False, True]
    assert limit_violation(pose)[0, knee] > 40 and limit_violation(pose)[1, head] > 60
    assert is_plausible(clamp_to_limits(pose)).all()


def test_limit_table_is_unambiguous_and_mirror_symmetric(samples):
    for convention, ranges in JOINT_LIMITS.values():
        assert ranges[1][0] > -90 and ranges[1][1] < 90, convention  # middle angle
    rotmat = torch.stack([s.rotmat for s in samples])
    assert is_plausible(flip_pose(rotmat)).all()
    noisy = rotmat @ roma.random_rotmat((len(rotmat), 24))  # far outside any limit
    assert not is_plausible(noisy).any()


def test_self_intersection_catches_a_hand_inside_the_torso(body):
    with torch.no_grad():
        joints = body(identity_pose(2)).joints
    assert not self_intersecting(joints).any()
    joints[1, JOINT_INDEX["left_wrist"]] = joints[1, JOINT_INDEX["spine2"]]
    assert self_intersecting(joints).tolist() == [False, True]
    crossed = joints[:1].clone()
    crossed[0, JOINT_INDEX["left_ankle"]] = crossed[0, JOINT_INDEX["right_knee"]]
    assert self_intersecting(crossed).all()


def test_sample_many_bounds_its_input(body):
    with pytest.raises(InvalidInputError):
        PoseGenerator(body=body).sample_many(-1)
    assert PoseGenerator(body=body).sample_many(0) == []
    assert JOINT_NAMES[0] == "pelvis" and set(FAMILY_INFO) == set(FAMILIES)


def test_poses_of_many_families_come_in_shared_batches(body):
    families = ["squatting", "waving", "squatting", "seated_violin"]
    samples = PoseGenerator(seed=4, body=body).sample_many(4, families=families)
    assert [s.family for s in samples] == families
    with pytest.raises(InvalidInputError, match="4 families"):
        PoseGenerator(seed=4, body=body).sample_many(4, families=families[:2])
    with pytest.raises(InvalidInputError, match="unknown pose family"):
        PoseGenerator(seed=4, body=body).sample_many(1, families=["moonwalking"])


def test_a_wild_share_poses_people_far_from_their_template_and_leaves_the_rest(body, samples):
    """Wild poses (drawn from a stream of their own) lie far from their family's template;
    every other pose is the one the seed gives without a wild share; plausibility still holds."""
    wild = PoseGenerator(seed=0, body=body, wild_share=0.5).sample_many(160)
    flags = [bool(s.params.get("wild")) for s in wild]
    assert 40 <= sum(flags) <= 120
    for tame, maybe in zip(samples, wild, strict=True):
        assert tame.family == maybe.family
        if not maybe.params.get("wild"):
            assert torch.equal(tame.rotmat, maybe.rotmat)

    def from_template(s) -> float:  # mean body-joint angle (deg) to the family's template
        template, _ = template_pose(FAMILY_INFO[s.family])
        ours = flip_pose(s.rotmat[None])[0] if s.params["mirrored"] else s.rotmat
        angles = roma.rotmat_geodesic_distance(ours[1:], template[1:])
        return float(torch.rad2deg(angles).mean())

    far = np.mean([from_template(s) for s, f in zip(wild, flags, strict=True) if f])
    near = np.mean([from_template(s) for s, f in zip(wild, flags, strict=True) if not f])
    assert far > near + 10
    assert not self_intersecting(torch.stack([s.joints for s in wild])).any()
    with pytest.raises(InvalidInputError, match="wild_share"):
        PoseGenerator(body=body, wild_share=1.5)
