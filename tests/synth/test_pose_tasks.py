"""Pose edits (geometry and predicates, checked on the families), the conversations that read
poses, their LLaVA round trip, and their encoding for training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posegpt.body import load_body_model
from posegpt.body.rotations import axis_angle_to_rotmat, flip_pose
from posegpt.data.formats import read_llava, write_llava
from posegpt.errors import ModelFileError
from posegpt.records import POSE_INPUT_TOKEN, POSE_TOKEN
from posegpt.synth.pose_edits import (
    EDIT_INFO,
    Step,
    apply_step,
    difference_text,
    follows,
    joint_angles,
    with_joint_angles,
)
from posegpt.synth.pose_tasks import (
    CHAIN_EDITS,
    KINDS,
    PoseTaskSource,
    codes_of,
    edit_trials,
    halfway,
    pose_task_conversations,
)
from posegpt.synth.poses import FAMILIES, PoseGenerator


@pytest.fixture(scope="module")
def body():
    return load_body_model()


@pytest.fixture(scope="module")
def poses(body):
    """One pose of each of 24 families spread over the list, facing +z."""
    generator = PoseGenerator(seed=3, random_yaw=False, body=body)
    families = FAMILIES[:: max(1, len(FAMILIES) // 24)]
    return [s for f in families for s in generator.sample_many(1, f)]


def test_joint_angles_round_trip_on_both_sides():
    pose = axis_angle_to_rotmat(torch.randn(24, 3, generator=torch.Generator().manual_seed(0)))
    for name in ("left_knee", "right_knee", "left_shoulder", "right_elbow"):
        angles = joint_angles(pose, name)
        assert torch.allclose(with_joint_angles(pose, name, angles), pose, atol=1e-5)
    bent = with_joint_angles(pose, "right_knee", (0, 0, 90))
    assert abs(joint_angles(bent, "right_knee")[2] - 90) < 1e-3
    assert torch.equal(bent[:5], pose[:5])  # joints before the right knee (index 5) untouched


def test_predicates_pass_true_edits_and_fail_copies(poses, body):
    """Validated on the families: every applicable edit, applied by its own geometry, follows
    its instruction (>= 90% per edit kind), and the unedited pose never does."""
    rng = np.random.default_rng(0)
    targets = PoseGenerator(seed=4, random_yaw=False, body=body)
    rotmat = torch.stack([s.rotmat for s in poses])
    trials = edit_trials(body, rotmat, rng, targets)
    before = trials.before
    passed: dict[str, list[bool]] = {}
    for (i, step), pose, code in zip(trials.steps, trials.edited, trials.after, strict=True):
        passed.setdefault(step.edit, []).append(follows(rotmat[i], pose, before[i], code, step))
        assert not follows(rotmat[i], rotmat[i], before[i], before[i], step), step
    assert len(passed) >= 8  # most edit kinds apply to some family
    for edit, results in passed.items():
        assert np.mean(results) >= 0.9, (edit, results)


def test_unmentioned_joints_must_be_kept(poses, body):
    rotmat = poses[0].rotmat
    step = Step("bend_knee", "left", "Bend the left knee more.")
    bent = apply_step(rotmat, step, np.random.default_rng(0), None)
    codes = codes_of(body, torch.stack([rotmat, bent, flip_pose(bent[None])[0]]))
    assert codes[1]["left_knee_angle"] > codes[0]["left_knee_angle"] + 25
    assert follows(rotmat, bent, codes[0], codes[1], step)
    # the knee bends, but the rest of the body changes too (mirrored): not kept
    mirrored = flip_pose(bent[None])[0]
    assert not follows(rotmat, mirrored, codes[0], codes[2], step)


def test_difference_text_joins_the_instructions():
    steps = [
        Step("bend_knee", "left", "Bend the left knee more."),
        Step("mirror", None, "Mirror the pose."),
    ]
    assert difference_text(steps) == (
        "From the first pose to the second: bend the left knee more, then mirror the pose."
    )


def task_source(poses, body) -> PoseTaskSource:
    return PoseTaskSource(
        torch.stack([s.rotmat for s in poses]),
        [[f"caption {i}", f"other caption {i}"] for i in range(len(poses))],
        [s.family for s in poses],
        PoseGenerator(seed=5, random_yaw=False, body=body),
        body,
    )


@pytest.fixture(scope="module")
def conversations(poses, body):
    return pose_task_conversations(task_source(poses, body), 60, seed=1)


def test_every_kind_is_made_with_one_pose_per_marker(conversations):
    assert {c.meta["kind"] for c in conversations} == set(KINDS)
    for c in conversations:
        users = "".join(m.content for m in c.messages if m.role == "user")
        answers = "".join(m.content for m in c.messages if m.role == "assistant")
        assert users.count(POSE_INPUT_TOKEN) == len(c.input_poses) >= 1
        assert answers.count(POSE_TOKEN) == len(c.poses)
        assert c.task == "pose_input"
        if c.meta["kind"] == "chain":  # each turn reads the previous answer
            assert len(c.poses) >= 3 and len(c.messages) >= 6
            for read, answered in zip(c.input_poses, c.poses[:-1], strict=True):
                assert torch.equal(read, answered)
        if c.meta["kind"] == "describe":  # its pose's most detailed caption
            assert c.messages[-1].content.startswith("other caption ")
        if c.meta["kind"] == "difference":
            assert c.messages[-1].content.startswith("From the first pose to the second")


def test_chains_and_differences_vary_in_length_within_a_split(conversations):
    """Each conversation draws its own number of edits (a whole split used to share one)."""
    chains = {len(c.meta["edits"]) for c in conversations if c.meta["kind"] == "chain"}
    assert chains == set(CHAIN_EDITS)


def same(a, b) -> bool:
    """Whether two conversations hold the same words and poses."""
    return (
        [(m.role, m.content) for m in a.messages] == [(m.role, m.content) for m in b.messages]
        and len(a.poses) == len(b.poses)
        and len(a.input_poses) == len(b.input_poses)
        and all(torch.equal(p, q) for p, q in zip(a.poses, b.poses, strict=True))
        and all(torch.equal(p, q) for p, q in zip(a.input_poses, b.input_poses, strict=True))
    )


def test_a_conversation_is_the_same_whatever_the_others_drew(poses, body, conversations):
    """Giving the first pose another family's pose changes only the conversations made from it:
    every other one draws from its own stream and its own target poses."""
    changed = [poses[len(poses) // 2], *poses[1:]]
    again = {
        c.meta["number"]: c for c in pose_task_conversations(task_source(changed, body), 60, seed=1)
    }
    first = poses[0].family
    others = [c for c in conversations if c.meta["family"] != first]
    assert len(others) >= 40 and len(others) < len(conversations)
    assert all(same(c, again[c.meta["number"]]) for c in others)
    assert not all(
        same(c, again[c.meta["number"]])
        for c in conversations
        if c.meta["family"] == first and c.meta["number"] in again
    )


def test_corrections_start_from_a_half_done_edit(conversations):
    correction = next(c for c in conversations if c.meta["kind"] == "correction")
    (name, _side), target = correction.meta["edits"][0], correction.poses[0]
    assert name in EDIT_INFO and not torch.allclose(correction.input_poses[0], target, atol=1e-3)
    start = torch.eye(3).expand(24, 3, 3)
    assert torch.allclose(halfway(start, target, 1.0), target, atol=1e-4)


def test_llava_round_trip_keeps_input_poses(conversations, tmp_path):
    path = write_llava(tmp_path / "pose_input.json", conversations[:10])
    back = read_llava(path)
    for a, b in zip(conversations[:10], back, strict=True):
        assert len(a.input_poses) == len(b.input_poses)
        for p, q in zip(a.input_poses, b.input_poses, strict=True):
            assert torch.allclose(p, q, atol=1e-4)
    broken = path.read_text().replace('"input_poses": [[', '"input_poses": [[[', 1)
    (tmp_path / "broken.json").write_text(broken)
    with pytest.raises(ModelFileError):
        read_llava(tmp_path / "broken.json")
