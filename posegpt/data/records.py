"""The records that flow from the data engine to training and evaluation.

A `Conversation` is what the model trains on: chat messages whose assistant turns may contain
`<POSE>` markers, one target pose per marker (in order), user turns `<pose_in>` markers, one
input pose per marker (in order), and an optional image.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch

POSE_TOKEN = "<POSE>"
IMAGE_TOKEN = "<image>"
POSE_INPUT_TOKEN = "<pose_in>"

Task = Literal["text2pose", "image2pose", "speculative", "rpe", "instruction", "pose_input"]


@dataclass
class Message:
    """One chat turn. `role` is "user" or "assistant" (or "system")."""

    role: str
    content: str


@dataclass
class Conversation:
    """A training/evaluation sample: messages, target poses (24, 3, 3) per `<POSE>`, image."""

    messages: list[Message]
    poses: list[torch.Tensor] = field(default_factory=list)
    image: str | None = None  # path of the image file, relative to the dataset root
    task: Task = "instruction"
    meta: dict = field(default_factory=dict)  # e.g. family, situation, description kind, split
    input_poses: list[torch.Tensor] = field(default_factory=list)  # (24, 3, 3) per <pose_in>
