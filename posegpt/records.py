"""Shared types at the bottom layer: chat messages, conversations and the special tokens.

The records flow from the data (and the synthetic data engine) to training, evaluation and
serving; the special tokens are defined here once.

A `Conversation` is what the model trains on: chat messages whose assistant turns may contain
`<POSE>` markers, one target pose per marker (in order), user turns `<pose_in>` markers, one
input pose per marker (in order), and an optional image.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch

#: The token whose hidden state the pose head reads; one per pose in an assistant turn.
POSE_TOKEN = "<POSE>"
#: Where the image goes in a user turn (LLaVA style).
IMAGE_TOKEN = "<image>"
#: An input pose in a user turn (the pose tower's features replace it); one per input pose.
POSE_INPUT_TOKEN = "<pose_in>"


def pose_markers(content: str, count: int) -> str:
    """`content` with `count` pose placeholders put before it (as an image marker is)."""
    return f"{POSE_INPUT_TOKEN * count}\n{content}" if count else content


#: Who speaks in a chat message.
ROLES = ("system", "user", "assistant")

Task = Literal[
    "text2pose", "image2pose", "speculative", "rpe", "instruction", "pose_input", "pose2text"
]


def with_image(text: str) -> str:
    """`text` with the image marker on its own line in front (LLaVA's layout)."""
    return f"{IMAGE_TOKEN}\n{text}"


@dataclass
class Message:
    """One chat turn, the one message shape of posegpt: datasets, the model (`chat`, `encode`)
    and the server pass these; `role` is one of ROLES. The model's entry points also accept
    plain `{"role", "content"}` mappings and check every message there
    (`posegpt.model.chat_format.check_messages`). `poses` (24, 3, 3) are the turn's own poses
    in a live chat: a user's input poses, an assistant's answer poses (a `Conversation` keeps
    its poses in `poses` and `input_poses` instead)."""

    role: str
    content: str
    poses: list[torch.Tensor] = field(default_factory=list)


@dataclass
class Conversation:
    """A training/evaluation sample: messages, target poses (24, 3, 3) per `<POSE>`, image,
    input poses (24, 3, 3) per `<pose_in>`."""

    messages: list[Message]
    poses: list[torch.Tensor] = field(default_factory=list)
    image: str | None = None  # path of the image file, relative to the dataset root
    task: Task = "instruction"
    meta: dict = field(default_factory=dict)  # e.g. family, situation, description kind, split
    input_poses: list[torch.Tensor] = field(default_factory=list)  # (24, 3, 3) per <pose_in>
