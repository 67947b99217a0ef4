"""The BlazePose fit (SMPL rotations whose bones point where the landmarks do) and the refinement
of answered poses to the landmarks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import roma
import torch
from PIL import Image

from posegpt.body import load_body_model
from posegpt.body.kinematics import forward_kinematics
from posegpt.body.prior import GaussianPosePrior
from posegpt.body.rotations import camera_to_y_up, geodesic_distance, identity_pose
from posegpt.body.skeleton import JOINT_INDEX
from posegpt.errors import InvalidInputError
from posegpt.eval.baselines.landmark_fit import LandmarkFit
from posegpt.eval.items import ImageSet, LazyImages, TrainData
from posegpt.eval.metrics import pa_mpjpe
from posegpt.model import load_chat_model
from posegpt.model.ask_again import again
from posegpt.model.network import asked_with_image
from posegpt.model.pose_tower.detector import NUM_LANDMARKS, Person
from posegpt.model.pose_tower.features import UNMATCHED_REPLY, tower_features
from posegpt.model.pose_tower.fit import (
    ANCHOR_WEIGHT,
    POINTS,
    best_match,
    best_match_energy,
    bone_energy,
    fit_with_prior,
    refine_to_people,
)
from posegpt.model.pose_tower.landmarks import LANDMARK_INDEX, LIMB_JOINTS
from posegpt.model.refusal import refusal_share, refusal_start_ids
from posegpt.synth.pose_families import FAMILY_INFO
from posegpt.synth.poses import check_family, template_pose

ARM_PARTS = ("elbow", "wrist", "index", "pinky")
ARM_JOINTS = tuple(f"{s}_{p}" for s in ("left", "right") for p in ("shoulder", "elbow"))
FAMILIES = ("reaching_up", "kneeling_one_knee", "sitting_chair", "bending_forward", "lunging")
#: Upright and facing the camera, in the camera frame (x right, y down, z forward).
FACING_CAMERA = torch.diag(torch.tensor([1.0, -1.0, -1.0]))


@pytest.fixture(scope="module")
def body():
    return load_body_model()


@pytest.fixture(scope="module")
def poses() -> torch.Tensor:
    """Family poses in the camera frame, turned by different yaws."""
    out = torch.stack([template_pose(check_family(f))[0] for f in FAMILIES])
    yaw = roma.rotvec_to_rotmat(torch.tensor([[0.0, a, 0.0] for a in (0, 0.6, -0.9, 2.0, 3.0)]))
    out[:, 0] = FACING_CAMERA @ yaw @ out[:, 0]
    return out


@pytest.fixture(scope="module")
def prior() -> GaussianPosePrior:
    """A prior on every family's template pose (as the training poses would give)."""
    return GaussianPosePrior.fit(torch.stack([template_pose(f)[0] for f in FAMILY_INFO.values()]))


def fake_landmarks(joints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 24, 3) SMPL joints written into BlazePose's landmark slots (the rest unseen)."""
    world = torch.zeros(len(joints), NUM_LANDMARKS, 3)
    seen = torch.zeros(len(joints), NUM_LANDMARKS)
    for smpl, marks in POINTS.values():
        if len(smpl) == 1:
            for mark in marks:
                world[:, LANDMARK_INDEX[mark]] = joints[:, JOINT_INDEX[smpl[0]]]
                seen[:, LANDMARK_INDEX[mark]] = 1.0
    return world - joints[:, :1], seen


def limb_error(a: torch.Tensor, b: torch.Tensor, body) -> torch.Tensor:
    rest = body(identity_pose(1)).joints.expand(len(a), -1, -1)
    ja, jb = (forward_kinematics(x, rest)[1][:, list(LIMB_JOINTS)] for x in (a, b))
    return pa_mpjpe(ja, jb)


def test_fit_recovers_limbs_and_the_camera_frame_root(body, poses, prior):
    world, seen = fake_landmarks(body(poses).joints)
    fitted = fit_with_prior(world, seen, body, prior, steps=150)
    error = limb_error(fitted, poses, body)
    mean = limb_error(prior.mean_pose().expand(len(poses), -1, -1, -1), poses, body)
    assert error.max() < 40 and error.mean() < 0.3 * mean.mean()
    root_error = torch.rad2deg(geodesic_distance(fitted[:, 0], poses[:, 0]))
    assert root_error.max() < 20  # the root is in the landmarks' (the camera's) frame


def test_unseen_landmarks_do_not_pull_the_fit(body, poses, prior):
    world, seen = fake_landmarks(body(poses[:1]).joints)
    legs = [LANDMARK_INDEX[f"left_{p}"] for p in ("knee", "ankle", "foot_index")]
    world[:, legs] = torch.randn(1, len(legs), 3) * 5  # nonsense where nothing is seen
    seen[:, legs] = 0.0
    fitted = fit_with_prior(world, seen, body, prior, steps=150)
    arms = [JOINT_INDEX[f"{s}_{p}"] for s in ("left", "right") for p in ("elbow", "wrist")]
    rest = body(identity_pose(1)).joints
    got, want = (forward_kinematics(x, rest)[1][0, arms] for x in (fitted, poses[:1]))
    got, want = got - got.mean(0), want - want.mean(0)
    assert (got - want).norm(dim=-1).max() < 0.08
    assert torch.isfinite(fitted).all()


def test_nobody_found_gives_the_prior_mean_and_counts_a_miss(body, poses):
    method = LandmarkFit(body, steps=5)
    method.fit(TrainData(crops=ImageSet(LazyImages([lambda: None] * len(poses)), poses)))
    blank = Image.fromarray(np.full((96, 96, 3), 128, np.uint8))
    pose = method.predict_image([blank])
    expected = camera_to_y_up(method.prior.mean_pose())  # answers in POSE_FRAME
    assert torch.allclose(pose[0], expected) and method.misses == 1


def person_seeing(world: torch.Tensor, seen: torch.Tensor, x0: float) -> Person:
    """A detected person whose world landmarks are `world` (33, 3), seen where `seen` is 1."""
    marks = torch.column_stack([torch.full((33,), x0 + 0.1), torch.full((33,), 0.5), seen])
    box = np.array([x0, 0.0, x0 + 0.3, 1.0], np.float32)
    return Person(marks.numpy().astype(np.float32), world.numpy().astype(np.float32), box)


def with_arms_of(truth: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """`truth` (B, 24, 3, 3) with the arms (shoulders, elbows) of `other`: a wrong answer."""
    out = truth.clone()
    for joint in ARM_JOINTS:
        out[:, JOINT_INDEX[joint]] = other[:, JOINT_INDEX[joint]]
    return out


def test_refinement_moves_an_answer_to_the_landmarks_it_sees(body, poses):
    world, seen = fake_landmarks(body(poses).joints)
    answers = camera_to_y_up(with_arms_of(poses, poses.roll(1, 0)))  # in POSE_FRAME
    for i in range(len(poses)):
        features = tower_features([person_seeing(world[i], seen[i], 0.2)], 4)
        before = limb_error(camera_to_y_up(answers[i : i + 1]), poses[i : i + 1], body)
        loose, default = (
            limb_error(
                camera_to_y_up(
                    refine_to_people(answers[i : i + 1], features, body, anchor_weight=w)
                ),
                poses[i : i + 1],
                body,
            )
            for w in (0.1, ANCHOR_WEIGHT)
        )
        assert loose < 0.5 * before and default < before, (
            FAMILIES[i],
            before,
            loose,
            default,
        )


def test_refinement_keeps_what_the_landmarks_do_not_see(body, poses):
    truth = poses[3:4]  # bending forward, arms hanging
    answer = with_arms_of(truth, poses[:1])  # arms reaching up
    world, seen = fake_landmarks(body(truth).joints)
    arms = [LANDMARK_INDEX[f"{s}_{p}"] for s in ("left", "right") for p in ARM_PARTS]
    seen[:, arms] = 0.0  # the arms not seen: the answer's arms stay
    features = tower_features([person_seeing(world[0], seen[0], 0.2)], 4)
    refined = camera_to_y_up(refine_to_people(camera_to_y_up(answer), features, body))
    arms = [JOINT_INDEX[j] for j in ARM_JOINTS]
    kept = torch.rad2deg(geodesic_distance(refined[0, arms], answer[0, arms]))
    assert kept.max() < 15


def test_refinement_picks_the_person_the_answer_matches(body, poses):
    world, seen = fake_landmarks(body(poses[:2]).joints)
    people = [person_seeing(world[0], seen[0], 0.1), person_seeing(world[1], seen[1], 0.6)]
    features = tower_features(people, 4)
    answer = poses[1:2].clone()  # the second person, with the first one's right arm
    answer[:, JOINT_INDEX["right_shoulder"]] = poses[0, JOINT_INDEX["right_shoulder"]]
    answer = camera_to_y_up(answer)
    refined = camera_to_y_up(refine_to_people(answer, features, body, anchor_weight=0.1))
    to_second, to_first = (limb_error(refined, poses[i : i + 1], body) for i in (1, 0))
    assert to_second < 40 and to_second < 0.5 * to_first
    assert torch.equal(refine_to_people(answer, tower_features([], 4), body), answer)


def test_only_a_question_asked_with_the_picture_is_refined():
    ask, answer = {"role": "user", "content": "Pose?"}, {"role": "assistant", "content": "<POSE>"}
    assert asked_with_image([ask])  # chat puts the picture on the first user message
    assert not asked_with_image([ask, answer, {"role": "user", "content": "Now sit."}])
    marked = {"role": "user", "content": "<image>\nAnd now?"}
    assert asked_with_image([ask, answer, marked])
    assert not asked_with_image([{"role": "system", "content": "Hi."}])


def test_chat_refines_the_answer_to_a_photo_and_not_a_follow_up(body, poses):
    model = load_chat_model()
    world, seen = fake_landmarks(body(poses[3:4]).joints)
    features = tower_features([person_seeing(world[0], seen[0], 0.2)], model.config.tower_slots)
    ask = [{"role": "user", "content": "What pose is this person in?"}]
    plain, refined = (model.chat(ask, image=features, refine_with=b) for b in (None, body))
    assert len(plain.poses) == len(refined.poses) == 1 and plain.text == refined.text
    rest = body(identity_pose(1)).joints
    energy = [
        float(bone_energy(camera_to_y_up(r.poses[0][None]), rest, world, seen))
        for r in (plain, refined)
    ]
    assert energy[1] < energy[0]  # closer to what the landmarks see
    blended = model.chat(ask, image=features, refine_with=body, refine="blend")
    assert model.pose_prior is not None  # the default ships one, and "blend" uses it
    expected = refine_to_people(
        plain.poses[0][None], features, body, "blend", prior=model.pose_prior
    )
    assert torch.allclose(blended.poses[0], expected[0], atol=1e-5)
    follow = [*ask, {"role": "assistant", "content": plain.text, "poses": plain.poses}]
    follow.append({"role": "user", "content": "Now raise the left arm."})
    again = [model.chat(follow, image=features, refine_with=b).poses for b in (None, body)]
    assert all(torch.equal(a, b) for a, b in zip(*again, strict=True))
    with pytest.raises(InvalidInputError, match="refine must be one of"):
        model.chat(ask, image=features, refine_with=body, refine="twist")


def test_an_answer_like_nobody_in_the_picture_matches_nobody(body, poses):
    """`best_match_energy`: an answer that is one of the people matches them; answers unlike
    both people are far from them; a picture of nobody matches nothing; `best_match` names the
    slot of the person each answer is."""
    world, seen = fake_landmarks(body(poses[:2]).joints)
    people = [person_seeing(world[i], seen[i], 0.1 + 0.5 * i) for i in range(2)]
    energy = best_match_energy(camera_to_y_up(poses[1:5]), tower_features(people, 4))
    assert energy[0] < 0.1 and energy[1:].min() > 20 * energy[0]
    nobody = best_match_energy(camera_to_y_up(poses[:2]), tower_features([], 4))
    assert torch.isinf(nobody).all()
    # the slot each answer matches: people are slotted largest first, so wider ones lead
    people[1] = dataclasses.replace(people[1], box=np.array([0.5, 0.0, 0.95, 1.0], np.float32))
    slots = best_match(camera_to_y_up(poses[:2]), tower_features(people, 4)).tolist()
    assert slots == [1, 0]
    assert best_match(camera_to_y_up(poses[:1]), tower_features([], 4)).tolist() == [-1]


def test_chat_declines_an_answer_that_matches_nobody_only_when_asked(body, poses, monkeypatch):
    """Declined only when asked, the answer's pose is far from everyone (the energy bound) and
    the reply leans to refusing (the share bound): each bound alone keeps the answer; a question
    that describes nobody in particular, about the one person there, is never declined."""
    model = load_chat_model()
    world, seen = fake_landmarks(body(poses[3:4]).joints)
    features = tower_features([person_seeing(world[0], seen[0], 0.2)], model.config.tower_slots)
    ask = [{"role": "user", "content": "What is the SMPL pose of the man in the red t-shirt?"}]
    scores = []  # the vocabulary scores of each decoding step, the first reply token's first
    hook = model.llava.lm_head.register_forward_hook(lambda m, i, out: scores.append(out[0, -1]))
    plain = model.chat(ask, image=features)  # off by default
    hook.remove()
    assert len(plain.poses) == 1
    energy = float(best_match_energy(torch.stack(plain.poses), features)[0])
    share = refusal_share(scores[0], refusal_start_ids(model.tokenizer))
    assert 0.0 < share < 1.0
    for energy_bound, share_bound in [(energy + 1e-3, share - 1e-3), (energy - 1e-3, share + 1e-3)]:
        monkeypatch.setattr("posegpt.model.pose_tower.fit.UNMATCHED_ENERGY", energy_bound)
        monkeypatch.setattr("posegpt.model.refusal.REFUSAL_SHARE", share_bound)
        kept = model.chat(ask, image=features, decline_unmatched=True)
        assert kept.text == plain.text and torch.equal(kept.poses[0], plain.poses[0])
    monkeypatch.setattr("posegpt.model.refusal.REFUSAL_SHARE", share - 1e-3)
    declined = model.chat(ask, image=features, decline_unmatched=True)
    assert declined.text == UNMATCHED_REPLY and declined.poses == []
    monkeypatch.setattr("posegpt.model.refusal.REFUSAL_SHARE", 0.0)  # every reply leans
    monkeypatch.setattr("posegpt.model.pose_tower.fit.UNMATCHED_ENERGY", 0.0)  # matches nobody
    anyone = [{"role": "user", "content": "What pose is this person in?"}]
    assert len(model.chat(anyone, image=features, decline_unmatched=True).poses) == 1


def test_orienting_turns_only_the_root_to_the_landmarks(body, poses):
    world, seen = fake_landmarks(body(poses).joints)
    turned = poses.clone()
    turned[:, 0] = roma.rotvec_to_rotmat(torch.tensor([0.0, 1.0, 0.3])) @ poses[:, 0]  # wrong way
    for i in range(len(poses)):
        features = tower_features([person_seeing(world[i], seen[i], 0.2)], 4)
        answer = camera_to_y_up(turned[i : i + 1])
        oriented = camera_to_y_up(refine_to_people(answer, features, body, mode="orient"))
        assert torch.allclose(oriented[:, 1:], turned[i : i + 1, 1:], atol=1e-5)  # body kept
        root_error = torch.rad2deg(geodesic_distance(oriented[0, 0], poses[i, 0]))
        assert root_error < 15, (FAMILIES[i], root_error)
    with pytest.raises(InvalidInputError, match="refine must be one of"):
        refine_to_people(answer, features, body, mode="twist")


@pytest.mark.parametrize("auto, alone_as", [("auto", "fit"), ("auto-blend", "blend")])
def test_auto_modes_refine_a_picture_of_one_person_and_orient_one_of_several(
    body, poses, prior, auto, alone_as
):
    """`auto` refines like `fit` (`auto-blend` like `blend`) when the picture holds one person
    and like `orient` when it holds several (where a fit may pull the answer towards someone
    else)."""
    world, seen = fake_landmarks(body(poses[:2]).joints)
    people = [person_seeing(world[i], seen[i], 0.1 + 0.5 * i) for i in range(2)]
    answer = poses[1:2].clone()  # the second person, with the first one's right arm
    answer[:, JOINT_INDEX["right_shoulder"]] = poses[0, JOINT_INDEX["right_shoulder"]]
    answer = camera_to_y_up(answer)
    autos = {}
    for features, same_as in (
        (tower_features(people[1:], 4), alone_as),
        (tower_features(people, 4), "orient"),
    ):
        autos[same_as] = refine_to_people(answer, features, body, mode=auto, prior=prior)
        expected = refine_to_people(answer, features, body, mode=same_as, prior=prior)
        assert torch.allclose(autos[same_as], expected)
    alone = autos[alone_as]  # one person: the limbs were refined
    assert not torch.allclose(alone[:, 1:], answer[:, 1:], atol=1e-3)


def test_blending_averages_the_turned_answer_and_the_fit_where_the_landmarks_see(
    body, poses, prior
):
    """ "blend": per joint, between the answer (turned as by "orient") and the fit from the
    prior; a limb the landmarks do not see keeps the answer."""
    world, seen = fake_landmarks(body(poses[3:4]).joints)
    features = tower_features([person_seeing(world[0], seen[0], 0.2)], 4)
    answer = camera_to_y_up(with_arms_of(poses[3:4], poses[0:1]))  # the arms wrong
    turned = camera_to_y_up(refine_to_people(answer, features, body, mode="orient"))
    fitted = fit_with_prior(world, seen, body, prior)
    mixed = camera_to_y_up(refine_to_people(answer, features, body, mode="blend", prior=prior))
    apart = torch.rad2deg(geodesic_distance(turned[0], fitted[0]))
    moved = apart > 2.0
    assert moved.sum() >= 5
    for end in (turned, fitted):
        assert (torch.rad2deg(geodesic_distance(mixed[0], end[0]))[moved] < apart[moved]).all()
    truth = poses[3:4]
    assert limb_error(mixed, truth, body) < limb_error(turned, truth, body)
    elbow, knee = JOINT_INDEX["left_elbow"], JOINT_INDEX["left_knee"]
    assert apart[elbow] > 2.0 and apart[knee] > 2.0
    blind = seen.clone()
    blind[:, [LANDMARK_INDEX[f"left_{p}"] for p in ARM_PARTS]] = 0.0
    features = tower_features([person_seeing(world[0], blind[0], 0.2)], 4)
    kept = camera_to_y_up(refine_to_people(answer, features, body, "blend", prior=prior))
    assert torch.allclose(kept[0, elbow], turned[0, elbow], atol=1e-5)  # unseen: the answer's
    assert not torch.allclose(kept[0, knee], turned[0, knee], atol=1e-3)  # seen: blended
    for mode in ("blend", "auto-blend"):
        with pytest.raises(InvalidInputError, match="pose prior"):
            refine_to_people(answer, features, body, mode=mode)


def test_a_photo_question_answered_in_words_is_asked_again_for_its_pose(body, poses, monkeypatch):
    """`photo_ask_again`: the default describes this person in words only; asked again for the
    pose it gives one, and the answer keeps the words; a reply that leans to refusing (someone
    not there) is left in words, unless the question describes nobody and one person is there."""
    model = load_chat_model()
    world, seen = fake_landmarks(body(poses[:1]).joints)
    features = tower_features([person_seeing(world[0], seen[0], 0.2)], model.config.tower_slots)
    question = "What pose is he in?"
    ask = [{"role": "user", "content": question}]
    words = model.chat(ask, image=features)
    assert not words.poses and words.text
    both = model.chat(ask, image=features, photo_ask_again=True)
    pose = model.chat([{"role": "user", "content": again(question)}], image=features)
    assert len(both.poses) == 1 and torch.equal(both.poses[0], pose.poses[0])
    assert both.text == f"{words.text.strip()} {pose.text}"
    monkeypatch.setattr("posegpt.model.refusal.REFUSAL_SHARE", 0.0)  # every reply leans
    leaning = model.chat(ask, image=features, photo_ask_again=True)  # describes nobody: asked
    assert leaning.text == pose.text and torch.equal(leaning.poses[0], pose.poses[0])
    described = [{"role": "user", "content": "What pose is the man in the red cap in?"}]
    words = model.chat(described, image=features)
    refusing = model.chat(described, image=features, photo_ask_again=True)
    assert not words.poses and (refusing.text, refusing.poses) == (words.text, [])
