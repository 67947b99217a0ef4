"""Poses as input: placeholders, the pose tower, earlier answers' poses, bad input, a tiny
model that learns to read poses."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import roma
import torch

from posegpt.body.rotations import axis_angle_to_rotmat, identity_pose
from posegpt.errors import InvalidInputError, TooLargeError
from posegpt.model import PACKAGED_MODELS, build_model, get_config, load_pretrained
from posegpt.model.build import grow
from posegpt.model.pose_head import answered_joints, pose_loss
from posegpt.model.pose_input import MAX_INPUT_POSES, attach_poses, check_input_poses
from posegpt.model.tokenizer import POSE_INPUT_TOKEN, check_tokenizer

DESCRIBE = "Describe this pose."
ANSWERS = ["The arms are up.", "The knees are bent.", "A kick to the front.", "Leaning left."]


def _poses(n: int, seed: int = 0, scale: float = 0.6) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return axis_angle_to_rotmat(torch.randn(n, 24, 3, generator=generator) * scale)


@pytest.fixture(scope="module")
def model(tokenizer):
    torch.manual_seed(0)
    return build_model("tiny", tokenizer)


def test_placeholders_expand_after_the_image_and_carry_the_pose(model):
    k = model.config.pose_seq_length
    messages = [{"role": "user", "content": f"<image>\n{POSE_INPUT_TOKEN}\n{DESCRIBE}"}]
    ids, labels = model.encode(messages, add_generation_prompt=True)
    where = (ids == model.pose_input_id).nonzero()[:, 0]
    assert len(where) == k and (where.diff() == 1).all()
    assert where[0] > (ids == model.image_token_id).nonzero().max()  # after the image's patches
    assert (labels[where] == -100).all()
    a, b = _poses(2)
    embeds_a = model._inputs(ids[None], input_poses=a[None])["inputs_embeds"]
    embeds_b = model._inputs(ids[None], input_poses=b[None])["inputs_embeds"]
    changed = (embeds_a != embeds_b).any(-1)[0]
    assert changed.nonzero()[:, 0].tolist() == where.tolist()  # only the placeholders differ
    assert torch.allclose(embeds_a[0, where].flatten(), model.pose_input(a[None]).flatten())
    with pytest.raises(InvalidInputError, match="placeholders"):
        model._inputs(ids[None], input_poses=torch.empty(0, 24, 3, 3))


def test_answer_poses_enter_the_next_user_message_before_its_own():
    first, second, own = _poses(3)
    messages, poses = attach_poses(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Raise the right arm."},
            {"role": "assistant", "content": "<POSE>", "poses": [first]},
            {"role": "user", "content": "Now the left one too."},
            {"role": "assistant", "content": "<POSE>", "poses": [second]},
            {"role": "user", "content": "Compare with mine.", "poses": [own.numpy()]},
        ]
    )
    assert [m["content"] for m in messages] == [
        "Be brief.",
        "Raise the right arm.",
        "<POSE>",
        f"{POSE_INPUT_TOKEN}\nNow the left one too.",
        "<POSE>",
        f"{POSE_INPUT_TOKEN}\n{POSE_INPUT_TOKEN}\nCompare with mine.",
    ]
    assert torch.allclose(poses, torch.stack([first, second, own]))
    axis_angle = attach_poses([{"role": "user", "content": "x", "poses": [[0.0] * 72]}])[1]
    assert torch.allclose(axis_angle, identity_pose(1))


@pytest.mark.parametrize(
    ("poses", "match"),
    [
        ([torch.zeros(23, 3, 3)], "got \\(23, 3, 3\\)"),
        ([np.full(72, np.nan)], "NaN"),
        ([torch.ones(24, 3, 3)], "not rotations"),
        ([[1.0, 2.0]], "poses\\[0\\]"),
        ("not a pose", "list of poses"),
        ([0.0] * 72, "put one pose in a list"),
    ],
)
def test_bad_poses_are_refused_clearly(poses, match):
    with pytest.raises(InvalidInputError, match=match):
        check_input_poses(poses)


def test_too_many_poses_and_mismatched_markers_are_refused(model):
    with pytest.raises(TooLargeError):
        check_input_poses(identity_pose(MAX_INPUT_POSES + 1))
    with pytest.raises(InvalidInputError, match="no poses"):
        model.chat([{"role": "user", "content": f"{POSE_INPUT_TOKEN} {DESCRIBE}"}])
    with pytest.raises(InvalidInputError, match="markers but 1 poses"):
        attach_poses([{"role": "user", "content": POSE_INPUT_TOKEN * 2, "poses": identity_pose(1)}])
    with pytest.raises(InvalidInputError, match="user messages"):
        model.chat([{"role": "assistant", "content": POSE_INPUT_TOKEN}])


def test_a_model_without_tower_keeps_working_but_refuses_poses(tokenizer):
    plain = build_model(get_config("tiny", pose_seq_length=0), tokenizer)
    assert plain.pose_input is None
    history = [
        {"role": "user", "content": "Raise the right arm."},
        {"role": "assistant", "content": "<POSE>", "poses": [identity_pose()]},
        {"role": "user", "content": "Now the left one."},
    ]
    assert isinstance(plain.chat(history, max_new_tokens=2).text, str)  # answer poses not read
    with pytest.raises(InvalidInputError, match="does not read poses"):
        plain.chat([{"role": "user", "content": DESCRIBE}], poses=[identity_pose()])


def test_tokenizers_saved_before_pose_input_still_load(tokenizer):
    """A tokenizer without `<pose_in>` (as the packaged small model's) passes the check."""
    assert POSE_INPUT_TOKEN in tokenizer.get_vocab()
    small = load_pretrained(PACKAGED_MODELS["small"])
    assert POSE_INPUT_TOKEN not in small.tokenizer.get_vocab()
    check_tokenizer(small.tokenizer)
    assert small.config.pose_seq_length == 0 and small.pose_input is None


@pytest.mark.slow
def test_a_tiny_model_learns_to_read_poses_in_a_follow_up(tokenizer):
    """Trained on "describe this pose" with the pose in the user message, the model answers the
    same question about its own earlier answer's pose, which `chat` feeds in by itself."""
    torch.manual_seed(0)
    model = build_model("tiny", tokenizer)
    poses = _poses(len(ANSWERS), seed=1, scale=0.8)
    samples = []
    for pose, answer in zip(poses, ANSWERS, strict=True):
        messages = [
            {"role": "user", "content": "Give me a pose."},
            {"role": "assistant", "content": "<POSE>."},
            {"role": "user", "content": f"{POSE_INPUT_TOKEN}\n{DESCRIBE}"},
            {"role": "assistant", "content": answer},
        ]
        ids, labels = model.encode(messages)
        samples.append(
            {"input_ids": ids, "labels": labels, "poses": pose[None], "input_poses": pose[None]}
        )
    batch = model.collate_fn(samples)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    model.train()
    for _ in range(200):
        out = model(batch)
        loss = out.ce_loss + 0.1 * out.pose_loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    for pose, answer in zip(poses, ANSWERS, strict=True):
        history = [
            {"role": "user", "content": "Give me a pose."},
            {"role": "assistant", "content": "<POSE>.", "poses": [pose]},
            {"role": "user", "content": DESCRIBE},
        ]
        assert model.chat(history, max_new_tokens=12).text == answer
        # the same pose given by the user directly reads the same
        direct = [*history[:2], {"role": "user", "content": DESCRIBE, "poses": [pose]}]
        direct[1] = {"role": "assistant", "content": "<POSE>."}
        assert model.chat(direct, max_new_tokens=12).text == answer


@pytest.mark.parametrize("setting", ["pose_input_joints", "pose_input_codes"])
def test_joint_features_grow_a_trained_tower_without_changing_it(model, setting):
    """`pose_input_joints` adds the joints' positions (forward kinematics on the template
    skeleton) to the tower's input, `pose_input_codes` their posecodes; grown from a model by
    either, it starts as that model and trains."""
    grown = grow(model, dataclasses.replace(model.config, **{setting: True}))
    poses = _poses(3, seed=2)
    assert torch.equal(grown.pose_input(poses), model.pose_input(poses))
    features = getattr(grown.pose_input, setting.removeprefix("pose_input_"))
    features.weight.grad = None
    grown.pose_input(poses).square().sum().backward()
    assert features.weight.grad.abs().sum() > 0
    with torch.no_grad():
        features.weight.normal_()
    try:
        # a pose and the same rotations with a turned root differ in every joint's place, and
        # in posecodes (tipped 86 degrees to the side, the body lies)
        turned = poses.clone()
        turned[:, 0] = roma.rotvec_to_rotmat(torch.tensor([0.0, 0.0, 1.5])) @ poses[:, 0]
        moved = grown.pose_input(turned) - grown.pose_input(poses)
        still = model.pose_input(turned) - model.pose_input(poses)
        assert moved.abs().mean() > 2 * still.abs().mean()
    finally:
        with torch.no_grad():
            features.weight.zero_()
    with pytest.raises(InvalidInputError, match="pose_seq_length"):
        dataclasses.replace(model.config, pose_seq_length=0, **{setting: True})


def test_keep_gates_read_the_pose_each_answer_changes(model):
    """With `keep_gates`, each `<POSE>` may keep joints of the last input pose before it in its
    conversation (none: the head as before); grown, the gates start shut."""
    grown = grow(model, dataclasses.replace(model.config, keep_gates=True))
    with pytest.raises(InvalidInputError, match="keep_threshold"):
        dataclasses.replace(grown.config, keep_threshold=1.0)
    a, b, c = _poses(3, seed=3)
    conversations = [  # (messages, input poses): 1, 0 and 2 answers that change a pose
        ([("user", f"{POSE_INPUT_TOKEN}\nRaise the arm."), ("assistant", "<POSE>.")], [a]),
        ([("user", "Give me a pose."), ("assistant", "<POSE>.")], []),
        (
            [
                ("user", "Give me a pose."),
                ("assistant", "<POSE>."),
                ("user", f"{POSE_INPUT_TOKEN}{POSE_INPUT_TOKEN}\nBend it."),
                ("assistant", "<POSE>."),
            ],
            [b, c],
        ),
    ]
    samples = []
    for messages, inputs in conversations:
        ids, labels = grown.encode([{"role": r, "content": t} for r, t in messages])
        count = sum(t.count("<POSE>") for _, t in messages)
        samples.append(
            {
                "input_ids": ids,
                "labels": labels,
                "poses": identity_pose(count),
                "input_poses": torch.stack(inputs) if inputs else torch.empty(0, 24, 3, 3),
            }
        )
    samples[0]["poses"] = a.clone()[None]
    samples[0]["poses"][0, 16] = torch.eye(3)  # the edit moves one joint, keeps the others
    batch = grown.collate_fn(samples)
    sources = grown._pose_sources(batch, batch["pose_mask"])
    expected = [a, torch.zeros(24, 3, 3), torch.zeros(24, 3, 3), c]
    torch.testing.assert_close(sources, torch.stack(expected))
    with torch.no_grad():
        before = model(batch).pred_rotmat
        shut = grown(batch).pred_rotmat
        assert torch.equal(shut, before)  # grown by shut gates: as before
        assert model(batch).keep_loss is None and grown(batch).keep_loss > 0  # the gates' own loss
        # the head answers the joints an edit moves; a gate-less head every joint
        targets, gated = batch["pose_targets"], grown(batch)
        answered = answered_joints(sources, targets)
        assert answered[0].sum() == 1 and answered[1:].all()
        assert torch.equal(gated.pose_loss, pose_loss(gated.pred_rotmat, targets, answered))
        plain = model(batch)
        assert torch.equal(plain.pose_loss, pose_loss(plain.pred_rotmat, targets))
        grown.pose_head.keep.bias.fill_(30.0)  # open: the answers keep the changed pose
        own = grown(batch).pred_rotmat  # training reads the head's own answers
        hidden, sources, _ = grown.pose_hidden_states(batch)
        kept = grown.pose_head(hidden, sources)
    assert torch.equal(shut, own)
    assert torch.equal(kept[[0, 3]], torch.stack([a, c]))
    assert torch.equal(kept[[1, 2]], before[[1, 2]])
    optimizer = torch.optim.AdamW(grown.backbone.parameters(), lr=3e-3)
    for _ in range(40):  # until it answers these requests with a pose
        optimizer.zero_grad()
        grown(batch).ce_loss.backward()
        optimizer.step()
    history = [
        {"role": "user", "content": "Give me a pose."},
        {"role": "assistant", "content": "<POSE>.", "poses": [b]},
        {"role": "user", "content": "Bend it."},
    ]
    answer = grown.eval().chat(history, max_new_tokens=8)
    assert len(answer.poses) == 1  # the answer's pose is the earlier answer's, kept
    torch.testing.assert_close(answer.poses[0], b, atol=1e-4, rtol=0)
