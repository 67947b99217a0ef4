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
from posegpt.synth.poses import PoseSource

TASK = "pose_input"
KINDS = ("describe", "edit", "difference", "chain", "correction")
#: Share of each kind in a written set.
KIND_MIX = {"describe": 0.3, "edit": 0.25, "difference": 0.15, "chain": 0.2, "correction": 0.1}
#: Edit turns after the first answer of a chain (so chains have 3 or 4 turns).
CHAIN_EDITS = (2, 3)
#: Poses whose codes are computed in one body forward.
CODES_BATCH = 256

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


class PosePool:
    """`sample(family)` from a pose source, drawn `chunk` at a time per family (one body
    forward each, instead of one per pose)."""

    def __init__(self, source: PoseSource, chunk: int = 64) -> None:
        self.source, self.chunk = source, chunk
        self.pools: dict[str, list] = {}

    def sample(self, family: str | None = None):
        if family is None:
            raise InvalidInputError("PosePool draws poses of a named family")
        pool = self.pools.setdefault(family, [])
        if not pool:
            pool.extend(self.source.sample_many(self.chunk, family))
        return pool.pop()


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
    body: BodyModel, rotmat: torch.Tensor, rng: np.random.Generator, pool: PosePool
) -> EditTrials:
    """Apply every applicable edit to each of the poses (N, 24, 3, 3); what the edit
    predicates are validated on (the families' own poses)."""
    before = codes_of(body, rotmat)
    steps = [
        (i, Step(name, side, EDIT_INFO[name].text(side, rng)))
        for i, codes in enumerate(before)
        for name, side in applicable(codes)
    ]
    edited = torch.stack([apply_step(rotmat[i], step, rng, pool) for i, step in steps])
    return EditTrials(steps, before, edited, codes_of(body, edited))


@dataclass
class PoseTaskSource:
    """What pose tasks are made from: poses (N, 24, 3, 3) facing +z, their captions (>= 1
    each) and families; `source` draws the target poses of posture changes."""

    poses: torch.Tensor
    captions: list[list[str]]
    families: list[str]
    source: PoseSource
    body: BodyModel


def pose_task_conversations(
    data: PoseTaskSource,
    n: int,
    rng: np.random.Generator,
    split: str = "train",
    seed: int = 0,
) -> list[Conversation]:
    """`n` conversations of the kinds in KIND_MIX's proportions (apportioned, so that even a
    small split has every kind), from random poses of `data`."""
    if len(data.poses) == 0 or n == 0:
        return []
    kinds = list(KIND_MIX)
    counts = apportion(n, {k: KIND_MIX[k] / sum(KIND_MIX.values()) for k in kinds}, {})
    drawn = [kind for kind in kinds for _ in range(counts[kind])]
    picks = rng.integers(len(data.poses), size=n)
    codes = codes_of(data.body, data.poses)
    out: list[Conversation] = []
    for kind in kinds:
        rows = [int(picks[i]) for i in range(n) if drawn[i] == kind]
        if rows:
            out += _make(kind, rows, data, codes, rng, split, seed)
    order = rng.permutation(len(out))
    return [out[i] for i in order]


def _make(
    kind: str,
    rows: list[int],
    data: PoseTaskSource,
    codes: list[dict],
    rng: np.random.Generator,
    split: str,
    seed: int,
) -> list[Conversation]:
    """Conversations of one kind, one per row (rows with no applicable edit are skipped)."""
    meta = {"split": split}
    if kind == "describe":
        return [
            describe_conversation(
                data.poses[r], most_detailed(data.captions[r]), rng, data.families[r], meta
            )
            for r in rows
        ]
    turns = 1
    if kind == "difference":
        turns = 2 if rng.random() < 0.3 else 1
    if kind == "chain":
        turns = int(rng.choice(CHAIN_EDITS))
    chains = _edit_chains(rows, data, codes, turns, rng)
    out = []
    for r, poses, steps in chains:
        family = data.families[r]
        if kind == "edit":
            out.append(edit_conversation(poses[0], steps[0], poses[1], rng, family, meta))
        elif kind == "difference":
            out.append(difference_conversation(poses[0], poses[-1], steps, rng, family, meta))
        elif kind == "chain":
            caption = pick(tuple(data.captions[r]), rng)
            out.append(chain_conversation(caption, poses, steps, rng, family, meta, split, seed))
    if kind == "correction":
        out = _corrections(chains, data, rng, meta)
    return out


def _edit_chains(
    rows: list[int],
    data: PoseTaskSource,
    codes: list[dict],
    turns: int,
    rng: np.random.Generator,
) -> list[tuple[int, list[torch.Tensor], list[Step]]]:
    """For each row, `turns` random applicable edits applied one after the other: (row, poses
    (turns + 1), steps). Rows where some turn has no applicable edit are dropped."""
    state = [(r, [data.poses[r]], [], codes[r]) for r in rows]
    for _ in range(turns):
        stepped = []
        for r, poses, steps, code in state:
            step = draw_step(code, rng)
            if step is not None:
                after = apply_step(poses[-1], step, rng, data.source)
                stepped.append((r, [*poses, after], [*steps, step]))
        if not stepped:
            return []
        new_codes = codes_of(data.body, torch.stack([p[-1] for _, p, _ in stepped]))
        state = [(r, p, s, c) for (r, p, s), c in zip(stepped, new_codes, strict=True)]
    return [(r, p, s) for r, p, s, _ in state]


def _corrections(
    chains: list[tuple[int, list[torch.Tensor], list[Step]]],
    data: PoseTaskSource,
    rng: np.random.Generator,
    meta: dict,
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
    for (r, poses, steps), miss, b, c in zip(chains, near, before, near_codes, strict=True):
        step = steps[0]
        if EDIT_INFO[step.edit].check(b, c, step.side):
            continue  # half way already does it: "that is not ..." would be false
        text = pick(CORRECTIONS[step.edit], rng).format(side=step.side)
        correction = Step(step.edit, step.side, text)
        out.append(
            edit_conversation(
                miss, correction, poses[1], rng, data.families[r], meta, kind="correction"
            )
        )
    return out
