"""Dataset items -> `Conversation`s for the pose-request tasks, worded with the templates.

Each builder takes the item (text, image path, description, situation) and its target pose
(24, 3, 3), draws the wording from `rng`, and returns a one-turn conversation whose answer holds
one `<POSE>` (none for a description that fits nobody in the picture). `split` picks the
question templates allowed (held-out wordings for val/test).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from posegpt.body.rotations import check_rotmat
from posegpt.data.templates import (
    POSE_DESCRIBE_QUESTIONS,
    absent_answer,
    image2pose_question,
    pick,
    pose_answer,
    rpe_question,
    text2pose_question,
)
from posegpt.errors import InvalidInputError
from posegpt.records import Conversation, Message, pose_markers


def _pose(rotmat: torch.Tensor) -> torch.Tensor:
    rotmat = check_rotmat(rotmat)
    if rotmat.shape != (24, 3, 3):
        raise InvalidInputError(f"a target pose is (24, 3, 3), got {tuple(rotmat.shape)}")
    return rotmat


def one_turn(
    question: str,
    answer: str,
    rotmat: torch.Tensor | None,
    task: str,
    image: str | None,
    meta: dict,
) -> Conversation:
    """A user question and an assistant answer holding one `<POSE>` (the pose `rotmat`), or
    none (`rotmat` None)."""
    return Conversation(
        messages=[Message("user", question), Message("assistant", answer)],
        poses=[] if rotmat is None else [_pose(rotmat)],
        image=image,
        task=task,
        meta=dict(meta),
    )


def text2pose_conversation(
    description: str,
    rotmat: torch.Tensor,
    rng: np.random.Generator,
    split: str = "train",
    seed: int = 0,
    meta: dict | None = None,
) -> Conversation:
    """ "{description} Give the SMPL pose." -> "Sure, the SMPL pose is <POSE>." """
    question = text2pose_question(description, rng, split, seed)
    return one_turn(question, pose_answer(rng), rotmat, "text2pose", None, meta or {})


def most_detailed(descriptions: Sequence[str]) -> str:
    """The description of a pose that says the most about it (the longest): what a request to
    describe the pose is answered with, so that the answer names all that the data knows of it."""
    if not descriptions:
        raise InvalidInputError("a pose needs at least one description")
    return max(descriptions, key=len)


def pose2text_conversation(
    description: str, rotmat: torch.Tensor, rng: np.random.Generator, meta: dict | None = None
) -> Conversation:
    """A text->pose pair read the other way: the pose as input, "Describe this pose." ->
    `description` (in words, no pose; `most_detailed` of the pose's texts)."""
    question = pose_markers(pick(POSE_DESCRIBE_QUESTIONS, rng), 1)
    return Conversation(
        messages=[Message("user", question), Message("assistant", description)],
        input_poses=[_pose(rotmat)],
        task="pose2text",
        meta=dict(meta or {}),
    )


def image2pose_conversation(
    image: str,
    rotmat: torch.Tensor,
    rng: np.random.Generator,
    split: str = "train",
    seed: int = 0,
    meta: dict | None = None,
) -> Conversation:
    """An image of one person (a crop) -> its pose."""
    question = image2pose_question(rng, split, seed)
    return one_turn(question, pose_answer(rng), rotmat, "image2pose", image, meta or {})


def rpe_conversation(
    image: str,
    target: str,
    rotmat: torch.Tensor,
    rng: np.random.Generator,
    split: str = "train",
    seed: int = 0,
    meta: dict | None = None,
) -> Conversation:
    """A full image and a description `target` of one person in it -> that person's pose."""
    question = rpe_question(target, rng, split, seed)
    return one_turn(question, pose_answer(rng), rotmat, "rpe", image, meta or {})


def rpe_absent_conversation(
    image: str,
    target: str,
    rng: np.random.Generator,
    split: str = "train",
    seed: int = 0,
    meta: dict | None = None,
) -> Conversation:
    """A full image and a description `target` that fits nobody in it -> an answer in words
    saying so, with no pose."""
    question = rpe_question(target, rng, split, seed)
    return one_turn(question, absent_answer(target, rng), None, "rpe", image, meta or {})
