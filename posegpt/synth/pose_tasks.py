"""Conversations that read poses: describe a pose, edit it, compare two, follow-up chains that
change the last pose, and corrections.

Every input pose is a `<pose_in>` marker in a user message (`Conversation.input_poses`, in
order); in a chain the pose of each answer enters the next user message, as `PoseGPT.chat`
feeds a conversation's earlier answers back. Words come from the captioner (descriptions) and
the edits' instructions (`posegpt.synth.pose_edits`); the edited poses from the edits' geometry.

Kinds (`meta["kind"]`):
  describe    <pose_in> "Describe this pose." -> its most detailed PoseScript-style caption
  edit        <pose_in> "Bend the left knee more." -> <POSE> (the edited pose)
  difference  <pose_in><pose_in> "What changed from the first pose to the second?" -> words
  chain       "{caption} Give the SMPL pose." -> <POSE>, then 2-3 turns each editing the last
  correction  <pose_in> "That is not a squat, the knees should be lower." -> <POSE>, where the
              input is the edit half done (it fails the edit's predicate)
`meta["edits"]` lists the (edit, side) steps in order, `meta["family"]` the family of the pose
the edits started from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import roma
import torch

from posegpt.body.base import BodyModel
from posegpt.body.posecodes import posecodes_batch
from posegpt.data.conversations import most_detailed
from posegpt.data.sampler import apportion
from posegpt.data.splits import stream
from posegpt.data.templates import POSE_DESCRIBE_QUESTIONS, pick, pose_answer, text2pose_question
from posegpt.errors import InvalidInputError
from posegpt.records import Conversation, Message, pose_markers
from posegpt.synth.pose_edits import (
    EDIT_INFO,
    Step,
    applicable,
    apply_step,
    difference_text,
    draw_step,
)
from posegpt.synth.poses import PoseGenerator, PoseSample, PoseSource

TASK = "pose_input"
KINDS = ("describe", "edit", "difference", "chain", "correction")
#: Share of each kind in a written set.
KIND_MIX = {"describe": 0.3, "edit": 0.25, "difference": 0.15, "chain": 0.2, "correction": 0.1}
#: Edit turns after the first answer of a chain (so chains have 3 or 4 turns).
CHAIN_EDITS = (2, 3)
#: Poses whose codes are computed in one body forward.
CODES_BATCH = 256
#: Places in the target pose sequence each conversation has for its posture changes (a chain
#: makes at most max(CHAIN_EDITS)).
TARGET_PLACES = 4

DIFFERENCE_QUESTIONS = (
    "What changed from the first pose to the second?",
    "How does the second pose differ from the first?",
    "Describe the difference between these two poses.",
    "What would I change to go from the first pose to the second?",
)
EDIT_ANSWERS = ("Here it is: <POSE>", "<POSE>", "Done: <POSE>.", "Sure, the new pose is <POSE>.")
#: Corrections of an edit that went only half way.
CORRECTIONS = {
    "bend_knee": ("Not enough, the {side} knee should be bent more.",),
    "straighten_knee": ("The {side} leg is still bent, it should be straight.",),
    "bend_elbow": ("The {side} elbow should be bent more than that.",),
    "straighten_elbow": ("The {side} arm should be fully straight.",),
    "raise_arm": ("The {side} arm should be higher, above the head.",),
    "lower_arm": ("Lower, the {side} arm should hang down.",),
    "sit": ("That is not sitting, the knees should be bent as on a chair.",),
    "squat": (
        "That is not a squat, the knees should be lower.",
        "Squat lower, the knees should be fully bent.",
    ),
    "stand": ("That is not standing, the legs should be straight.",),
}


def codes_of(body: BodyModel, rotmat: torch.Tensor) -> list[dict]:
    """Posecodes of poses (N, 24, 3, 3), computed in batches."""
    out: list[dict] = []
    for start in range(0, len(rotmat), CODES_BATCH):
        with torch.no_grad():
            joints = body(rotmat[start : start + CODES_BATCH]).joints
        out += posecodes_batch(joints)
    return out


def halfway(before: torch.Tensor, after: torch.Tensor, t: float = 0.5) -> torch.Tensor:
    """The pose a share `t` of the way from `before` to `after`, joint by joint."""
    delta = roma.rotmat_to_rotvec(before.transpose(-1, -2) @ after)
    return before @ roma.rotvec_to_rotmat(t * delta)


def _user(text: str, poses: int) -> Message:
    return Message("user", pose_markers(text, poses))


def _meta(kind: str, family: str, steps: Sequence[Step], meta: dict) -> dict:
    return {
        **meta,
        "kind": kind,
        "family": family,
        "edits": [[s.edit, s.side] for s in steps],
        "instructions": [s.text for s in steps],
    }


def describe_conversation(
    rotmat: torch.Tensor, caption: str, rng: np.random.Generator, family: str, meta: dict
) -> Conversation:
    question = pick(POSE_DESCRIBE_QUESTIONS, rng)
    return Conversation(
        [_user(question, 1), Message("assistant", caption)],
        input_poses=[rotmat],
        task=TASK,
        meta=_meta("describe", family, [], meta),
    )


def edit_conversation(
    before: torch.Tensor,
    step: Step,
    after: torch.Tensor,
    rng: np.random.Generator,
    family: str,
    meta: dict,
    kind: str = "edit",
) -> Conversation:
    return Conversation(
        [_user(step.text, 1), Message("assistant", pick(EDIT_ANSWERS, rng))],
        poses=[after],
        input_poses=[before],
        task=TASK,
        meta=_meta(kind, family, [step], meta),
    )


def difference_conversation(
    first: torch.Tensor,
    second: torch.Tensor,
    steps: Sequence[Step],
    rng: np.random.Generator,
    family: str,
    meta: dict,
) -> Conversation:
    question = pick(DIFFERENCE_QUESTIONS, rng)
    return Conversation(
        [_user(question, 2), Message("assistant", difference_text(steps))],
        input_poses=[first, second],
        task=TASK,
        meta=_meta("difference", family, steps, meta),
    )


def chain_conversation(
    caption: str,
    poses: Sequence[torch.Tensor],
    steps: Sequence[Step],
    rng: np.random.Generator,
    family: str,
    meta: dict,
    split: str = "train",
    seed: int = 0,
) -> Conversation:
    """Turn 1 asks for the described pose (`poses[0]`); turn k + 1 applies `steps[k]` to the
    last answer, which it reads (`poses[k]`), answering `poses[k + 1]`."""
    if len(poses) != len(steps) + 1:
        raise InvalidInputError(f"a chain of {len(steps)} edits needs {len(steps) + 1} poses")
    messages = [
        Message("user", text2pose_question(caption, rng, split, seed)),
        Message("assistant", pose_answer(rng)),
    ]
    for step in steps:
        messages += [_user(step.text, 1), Message("assistant", pick(EDIT_ANSWERS, rng))]
    return Conversation(
        messages,
        poses=list(poses),
        input_poses=list(poses[:-1]),
        task=TASK,
        meta=_meta("chain", family, steps, meta),
    )


class ItemPoses:
    """The posture-change targets of one conversation: its k-th draw is the pose at place
    `item * TARGET_PLACES + k` of `generator`'s sequence, the same whatever other conversations
    drew."""

    def __init__(self, generator: PoseGenerator, item: int) -> None:
        self.generator, self.item, self.drawn = generator, item, 0

    def sample(self, family: str | None = None) -> PoseSample:
        if self.drawn == TARGET_PLACES:
            raise InvalidInputError(f"a conversation draws at most {TARGET_PLACES} target poses")
        place = self.item * TARGET_PLACES + self.drawn
        self.drawn += 1
        return self.generator.sample_many(1, family, at=place)[0]


@dataclass
class EditTrials:
    """Every edit that applies to each pose, carried out by its own geometry: `steps[k]` =
    (index of the pose it edits, the step), `edited[k]` its result; posecodes before (per
    pose) and after (per step)."""

    steps: list[tuple[int, Step]]
    before: list[dict]
    edited: torch.Tensor
    after: list[dict]


def edit_trials(
    body: BodyModel, rotmat: torch.Tensor, rng: np.random.Generator, source: PoseSource
) -> EditTrials:
    """Apply every applicable edit to each of the poses (N, 24, 3, 3); what the edit
    predicates are validated on (the families' own poses)."""
    before = codes_of(body, rotmat)
    steps = [
        (i, Step(name, side, EDIT_INFO[name].text(side, rng)))
        for i, codes in enumerate(before)
        for name, side in applicable(codes)
    ]
    edited = torch.stack([apply_step(rotmat[i], step, rng, source) for i, step in steps])
    return EditTrials(steps, before, edited, codes_of(body, edited))


@dataclass
class PoseTaskSource:
    """What pose tasks are made from: poses (N, 24, 3, 3) facing +z, their captions (>= 1
    each) and families; `targets` draws the target poses of posture changes by place."""

    poses: torch.Tensor
    captions: list[list[str]]
    families: list[str]
    targets: PoseGenerator
    body: BodyModel


@dataclass
class _Item:
    """One conversation to make: its number in the split, the row of the pose it starts from,
    its own random stream and posture-change targets, and its meta (split, number)."""

    number: int
    row: int
    rng: np.random.Generator
    targets: ItemPoses
    meta: dict


def pose_task_conversations(
    data: PoseTaskSource,
    n: int,
    split: str = "train",
    seed: int = 0,
    content_seed: int | None = None,
) -> list[Conversation]:
    """`n` conversations of the kinds in KIND_MIX's proportions (apportioned, so that even a
    small split has every kind, in random order), from random poses of `data`. Each draws from
    its own stream (`content_seed`, default `seed`; `split`; its number), so a change to what
    one conversation draws leaves the others as they were; `seed` holds templates out."""
    if len(data.poses) == 0 or n == 0:
        return []
    draws = seed if content_seed is None else content_seed
    counts = apportion(n, {k: KIND_MIX[k] / sum(KIND_MIX.values()) for k in KIND_MIX}, {})
    rng = stream(draws, f"pose_input/{split}")
    drawn = [kind for kind in KIND_MIX for _ in range(counts[kind])]
    drawn = [drawn[i] for i in rng.permutation(n)]
    picks = rng.integers(len(data.poses), size=n)
    items = [
        _Item(
            i,
            int(picks[i]),
            stream(draws, f"pose_input/{split}/{i}"),
            ItemPoses(data.targets, i),
            {"split": split, "number": i},
        )
        for i in range(n)
    ]
    codes = codes_of(data.body, data.poses)
    made: list[Conversation] = []
    for kind in KIND_MIX:
        chosen = [item for item, k in zip(items, drawn, strict=True) if k == kind]
        if chosen:
            made += _make(kind, chosen, data, codes, split, seed)
    return sorted(made, key=lambda c: c.meta["number"])


def _make(
    kind: str,
    items: list[_Item],
    data: PoseTaskSource,
    codes: list[dict],
    split: str,
    seed: int,
) -> list[Conversation]:
    """Conversations of one kind, one per item (items with no applicable edit are skipped)."""
    if kind == "describe":
        return [
            describe_conversation(
                data.poses[it.row],
                most_detailed(data.captions[it.row]),
                it.rng,
                data.families[it.row],
                it.meta,
            )
            for it in items
        ]
    if kind == "difference":
        turns = [2 if it.rng.random() < 0.3 else 1 for it in items]
    elif kind == "chain":
        turns = [int(it.rng.choice(CHAIN_EDITS)) for it in items]
    else:
        turns = [1] * len(items)
    chains = _edit_chains(items, turns, data, codes)
    if kind == "correction":
        return _corrections(chains, data)
    out = []
    for it, poses, steps in chains:
        family = data.families[it.row]
        if kind == "edit":
            out.append(edit_conversation(poses[0], steps[0], poses[1], it.rng, family, it.meta))
        elif kind == "difference":
            out.append(difference_conversation(poses[0], poses[-1], steps, it.rng, family, it.meta))
        else:
            caption = pick(tuple(data.captions[it.row]), it.rng)
            out.append(
                chain_conversation(caption, poses, steps, it.rng, family, it.meta, split, seed)
            )
    return out


def _edit_chains(
    items: list[_Item], turns: list[int], data: PoseTaskSource, codes: list[dict]
) -> list[tuple[_Item, list[torch.Tensor], list[Step]]]:
    """For each item, `turns[k]` random applicable edits applied one after the other: (item,
    poses (turns + 1), steps). Items where some turn has no applicable edit are dropped."""
    state = [
        (it, t, [data.poses[it.row]], [], codes[it.row]) for it, t in zip(items, turns, strict=True)
    ]
    done = []
    while state:
        stepped = []
        for it, t, poses, steps, code in state:
            if len(steps) == t:
                done.append((it, poses, steps))
                continue
            step = draw_step(code, it.rng)
            if step is not None:
                after = apply_step(poses[-1], step, it.rng, it.targets)
                stepped.append((it, t, [*poses, after], [*steps, step]))
        if not stepped:
            break
        new_codes = codes_of(data.body, torch.stack([p[-1] for _, _, p, _ in stepped]))
        state = [(*s, c) for s, c in zip(stepped, new_codes, strict=True)]
    return done


def _corrections(
    chains: list[tuple[_Item, list[torch.Tensor], list[Step]]],
    data: PoseTaskSource,
) -> list[Conversation]:
    """Each single edit done half way as the input, with a correction asking for the rest;
    kept only where the half-done pose fails the edit's predicate (so the correction is
    true)."""
    chains = [c for c in chains if c[2][0].edit in CORRECTIONS]
    if not chains:
        return []
    near = torch.stack([halfway(poses[0], poses[1]) for _, poses, _ in chains])
    before = codes_of(data.body, torch.stack([poses[0] for _, poses, _ in chains]))
    near_codes = codes_of(data.body, near)
    out = []
    for (it, poses, steps), miss, b, c in zip(chains, near, before, near_codes, strict=True):
        step = steps[0]
        if EDIT_INFO[step.edit].check(b, c, step.side):
            continue  # half way already does it: "that is not ..." would be false
        text = pick(CORRECTIONS[step.edit], it.rng).format(side=step.side)
        correction = Step(step.edit, step.side, text)
        family = data.families[it.row]
        out.append(
            edit_conversation(miss, correction, poses[1], it.rng, family, it.meta, "correction")
        )
    return out
