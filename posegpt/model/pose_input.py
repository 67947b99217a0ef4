"""Poses as input: the pose tower and the conversation's input poses.

A pose the model reads (from the user, or an earlier answer of the conversation) is a `<pose_in>`
placeholder in a user message. `encode_conversation` repeats each placeholder
`pose_seq_length` times; the pose tower (an MLP, like LLaVA's image projector) maps the pose's
24 rotations (6D), and optionally its joint positions, to that many input embeddings, which
replace the placeholders' embeddings. Positions are found in the expanded ids, never as offsets.

Messages may carry poses: `{"role": "user", "content": ..., "poses": [...]}` are the poses of
that message's placeholders (prepended when it has none); an assistant message's `poses` (its
answer's poses) enter the next user message automatically, before that message's own, so a
follow-up sees the pose it changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from posegpt.body.kinematics import forward_kinematics
from posegpt.body.posecodes import NUM_FEATURES, posecode_features
from posegpt.body.rotations import identity_pose, rotmat_to_6d, to_rotmat
from posegpt.body.skeleton import ANNY_REST_JOINTS, NUM_JOINTS, TEMPLATE_JOINTS
from posegpt.errors import InvalidInputError, TooLargeError
from posegpt.model.tokenizer import POSE_INPUT_TOKEN
from posegpt.records import Message, pose_markers

#: Most input poses one conversation may hold.
MAX_INPUT_POSES = 8


def check_input_poses(poses: Any, what: str = "poses") -> torch.Tensor:
    """Input poses -> (N, 24, 3, 3) float32 rotation matrices.

    `poses` is a list of poses, each 24 rotation matrices (24, 3, 3) or axis-angle (72,) /
    (24, 3); or an array of one pose, or of several stacked ((N, 24, 3, 3) or (N, 72)).
    Raises InvalidInputError naming the bad pose (shape, NaN, matrices that are not
    rotations) and TooLargeError beyond MAX_INPUT_POSES.
    """
    if poses is None:
        return torch.empty(0, NUM_JOINTS, 3, 3)
    if isinstance(poses, torch.Tensor | np.ndarray):
        several = poses.ndim == 4 or (poses.ndim == 2 and poses.shape[-1] == NUM_JOINTS * 3)
        poses = list(poses) if several else [poses]
    elif not isinstance(poses, Sequence) or isinstance(poses, str):
        raise InvalidInputError(f"{what} must be a list of poses")
    elif poses and isinstance(poses[0], int | float):
        raise InvalidInputError(f"{what} must be a list of poses; put one pose in a list: [[...]]")
    if len(poses) > MAX_INPUT_POSES:
        raise TooLargeError(f"{len(poses)} {what}; at most {MAX_INPUT_POSES} are accepted")
    out = []
    for i, pose in enumerate(poses):
        try:
            rotmat = to_rotmat(pose)
        except (InvalidInputError, TypeError, ValueError, RuntimeError) as err:
            raise InvalidInputError(f"{what}[{i}]: {err}") from err
        if rotmat.shape != (NUM_JOINTS, 3, 3):
            raise InvalidInputError(
                f"{what}[{i}]: one pose is 24 rotations ((24, 3, 3) matrices or 72 axis-angle "
                f"values), got shape {tuple(torch.as_tensor(pose).shape)}"
            )
        out.append(rotmat)
    return torch.stack(out) if out else torch.empty(0, NUM_JOINTS, 3, 3)


def as_mapping(message: object, i: int = 0) -> dict[str, Any]:
    """A `Message` or a mapping as a plain dict with its `poses` (if any)."""
    if isinstance(message, Message):
        return {"role": message.role, "content": message.content, "poses": message.poses}
    if isinstance(message, Mapping):
        return dict(message)
    raise InvalidInputError(f"message {i} must be a Message or a {{'role', 'content'}} mapping")


def attach_poses(
    messages: Sequence[Mapping[str, Any] | Message],
) -> tuple[list[dict[str, str]], torch.Tensor]:
    """Messages with `poses` -> plain messages with `<pose_in>` markers, and the poses in order.

    See the module docstring for where each pose goes. Poses of assistant messages after the
    last user message have no user message to enter and are dropped.
    """
    plain: list[dict[str, str]] = []
    ordered: list[torch.Tensor] = []
    carried = torch.empty(0, NUM_JOINTS, 3, 3)
    for i, message in enumerate(messages):
        message = as_mapping(message, i)
        role, content = message.get("role"), message.get("content")
        own = check_input_poses(message.get("poses"), f"message {i} poses")
        if role == "assistant":
            carried = own
            plain.append({"role": role, "content": content})
            continue
        if role != "user" or not isinstance(content, str):
            if len(own):
                raise InvalidInputError(f"message {i}: only user and assistant messages hold poses")
            plain.append({"role": role, "content": content})
            continue
        markers = content.count(POSE_INPUT_TOKEN)
        if len(own) and markers not in (0, len(own)):
            raise InvalidInputError(
                f"message {i} has {markers} {POSE_INPUT_TOKEN} markers but {len(own)} poses"
            )
        if not len(own) and markers:
            raise InvalidInputError(f"message {i} has {POSE_INPUT_TOKEN} markers but no poses")
        content = content if markers else pose_markers(content, len(own))
        plain.append({"role": role, "content": pose_markers(content, len(carried))})
        ordered += [*carried, *own]
        carried = torch.empty(0, NUM_JOINTS, 3, 3)
    if len(ordered) > MAX_INPUT_POSES:
        raise TooLargeError(
            f"the conversation holds {len(ordered)} input poses; at most {MAX_INPUT_POSES}"
        )
    poses = torch.stack(ordered) if ordered else torch.empty(0, NUM_JOINTS, 3, 3)
    return plain, poses


class PoseInputTower(nn.Module):
    """(N, 24, 3, 3) poses -> (N * tokens, hidden) input embeddings, `tokens` per pose.

    The MLP reads the 24 rotations (6D); with `joints`, also where the joints are (forward
    kinematics on `TEMPLATE_JOINTS`, relative to the pelvis, root rotation included), which
    says directly what a description names ("the left hand above the head"); with `codes`, also
    its posecodes (`posegpt.body.posecodes.posecode_features`, read on the default body's
    skeleton), the facts the data's descriptions state. These weights start at zero, so growing
    a trained tower by them keeps what it computes.
    """

    def __init__(
        self, hidden_size: int, tokens: int, joints: bool = False, codes: bool = False
    ) -> None:
        super().__init__()
        self.tokens = tokens
        self.projector = nn.Sequential(
            nn.Linear(NUM_JOINTS * 6, hidden_size),
            nn.GELU(),
            nn.Linear(hidden_size, tokens * hidden_size),
        )
        self.joints = nn.Linear(NUM_JOINTS * 3, hidden_size, bias=False) if joints else None
        if self.joints is not None:
            nn.init.zeros_(self.joints.weight)
            self.register_buffer("template", torch.tensor(TEMPLATE_JOINTS), persistent=False)
        self.codes = nn.Linear(NUM_FEATURES, hidden_size, bias=False) if codes else None
        if self.codes is not None:
            nn.init.zeros_(self.codes.weight)
            self.register_buffer("rest", torch.tensor(ANNY_REST_JOINTS), persistent=False)

    def forward(self, rotmat: torch.Tensor) -> torch.Tensor:
        first, act, last = self.projector
        rotmat = rotmat.to(first.weight.device, first.weight.dtype)
        hidden = first(rotmat_to_6d(rotmat).reshape(len(rotmat), -1))
        if self.joints is not None:
            rest = self.template.to(rotmat.dtype).expand(len(rotmat), -1, -1)
            joints = forward_kinematics(rotmat, rest)[1]
            hidden = hidden + self.joints((joints - joints[:, :1]).reshape(len(rotmat), -1))
        if self.codes is not None:
            joints = forward_kinematics(
                rotmat, self.rest.to(rotmat.dtype).expand(len(rotmat), -1, -1)
            )[1]
            hidden = hidden + self.codes(posecode_features(joints).to(hidden.device, hidden.dtype))
        return last(act(hidden)).reshape(len(rotmat) * self.tokens, -1)

    def scatter(
        self, input_ids: torch.Tensor, embeds: torch.Tensor, poses: torch.Tensor, token_id: int
    ) -> torch.Tensor:
        """`embeds` (B, L, H) with the placeholders (`token_id` in `input_ids`) replaced by the
        features of `poses`, in row-major order. Without placeholders the tower still takes part
        (times zero), so distributed training sees a gradient for every parameter."""
        mask = input_ids == token_id
        if int(mask.sum()) != len(poses) * self.tokens:
            raise InvalidInputError(
                f"{len(poses)} input pose(s) need {len(poses) * self.tokens} {POSE_INPUT_TOKEN} "
                f"placeholders, found {int(mask.sum())}"
            )
        if not len(poses):
            return embeds + 0.0 * self(identity_pose(1)).sum().to(embeds.dtype)
        features = self(poses).to(embeds.dtype)
        return embeds.masked_scatter(mask[..., None].expand_as(embeds), features)
