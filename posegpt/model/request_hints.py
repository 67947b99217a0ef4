"""Request hints: each user turn reads the pose of the nearest request the model was trained on.

A lookup of the training requests in MiniLM space (the `nearest request` baseline) answers
everyday one-pose requests better than the small model, and the two are right on different
requests. With `request_hints=N` the model holds N rows of its training data, each a one-pose
request's MiniLM embedding and its pose (the table is saved with the weights). Each user turn's
embedding finds its nearest row; a projector (zero at start, so a grown model first answers as
before) maps that row's pose (6D) and the cosine similarity to the LM's width, and the result is
added to the turn's `<|user|>` embedding with its sentence features (`text_features`). The model
learns when to follow the hint and how to correct it.

In training a turn never finds its own words (rows more similar than `SELF_SIMILARITY` are
passed over): it reads the neighbour a new wording would find, not its own answer.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from posegpt.body.rotations import rotmat_to_6d
from posegpt.body.skeleton import NUM_JOINTS
from posegpt.errors import InvalidInputError
from posegpt.model.text_embedder import SentenceEmbedder
from posegpt.records import POSE_TOKEN, Conversation

#: Rows at least this similar to a training turn are its own words (passed over in training).
SELF_SIMILARITY = 0.999


class RequestHints(nn.Module):
    """The (request embedding, pose) table and the projector of the nearest row's pose."""

    def __init__(self, rows: int, dim: int, hidden_size: int) -> None:
        super().__init__()
        self.register_buffer("keys", torch.zeros(rows, dim, dtype=torch.float16))
        self.register_buffer("poses", torch.zeros(rows, NUM_JOINTS * 6, dtype=torch.float16))
        self.projector = nn.Sequential(
            nn.Linear(NUM_JOINTS * 6 + 1, hidden_size),
            nn.GELU(),
            nn.Linear(hidden_size, hidden_size),
        )
        nn.init.zeros_(self.projector[-1].weight)
        nn.init.zeros_(self.projector[-1].bias)

    @property
    def filled(self) -> bool:
        """Whether the table holds requests (a new or grown model's is all zeros)."""
        return bool(self.keys.abs().sum() > 0)

    def fill(self, keys: torch.Tensor, rotmats: torch.Tensor) -> None:
        """Store (M, dim) unit embeddings and their (M, 24, 3, 3) poses; with fewer than the
        table's rows, they repeat."""
        if len(keys) == 0 or len(keys) != len(rotmats):
            raise InvalidInputError(
                f"request hints need as many poses as requests (>= 1), got {len(keys)} requests "
                f"and {len(rotmats)} poses"
            )
        index = torch.arange(len(self.keys)) % len(keys)
        self.keys.copy_(keys[index].to(self.keys))
        self.poses.copy_(rotmat_to_6d(rotmats[index].float()).flatten(1).to(self.poses))

    def nearest(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """For (N, dim) unit embeddings: the nearest row's index (N,) and similarity (N,); in
        training, a turn's own words are passed over."""
        similarity = features.float() @ self.keys.float().T
        if self.training:
            similarity = similarity.masked_fill(similarity > SELF_SIMILARITY, -1.0)
        best, index = similarity.max(dim=1)
        return index, best

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(N, dim) unit embeddings of user turns -> (N, hidden) hint embeddings."""
        index, similarity = self.nearest(features)
        weight = self.projector[0].weight
        hint = torch.cat([self.poses[index].float(), similarity[:, None]], dim=1)
        return self.projector(hint.to(weight.device, weight.dtype))


def one_pose_requests(
    conversations: Sequence[Conversation],
) -> tuple[list[str], list[torch.Tensor]]:
    """The requests of the words-only, one-turn conversations answered with one pose, and
    those poses (24, 3, 3)."""
    texts, poses = [], []
    for conversation in conversations:
        ask, answer = conversation.messages[0], conversation.messages[-1]
        one_turn = len(conversation.messages) == 2 and not conversation.image
        if one_turn and not conversation.input_poses and answer.content.count(POSE_TOKEN) == 1:
            texts.append(ask.content)
            poses.append(conversation.poses[0])
    return texts, poses


def fill_request_hints(
    hints: RequestHints,
    embedder: SentenceEmbedder,
    conversations: Sequence[Conversation],
    seed: int = 0,
) -> int:
    """Fill `hints` with the one-pose requests among `conversations` (as many as it has rows,
    drawn at random with `seed` when there are more), embedded by `embedder` (the model's
    own, MiniLM or Gemma); returns how many requests it holds."""
    texts, poses = one_pose_requests(conversations)
    if not texts:
        raise InvalidInputError(
            "request_hints needs one-pose requests in the training data (instruction "
            "conversations: `posegpt data synth --instructions N`)"
        )
    picked = range(len(texts))
    if len(texts) > len(hints.keys):
        order = torch.randperm(len(texts), generator=torch.Generator().manual_seed(seed))
        picked = sorted(order[: len(hints.keys)].tolist())
    keys = embedder.embed([texts[i] for i in picked], progress=True)
    hints.fill(keys, torch.stack([poses[i] for i in picked]))
    return len(picked)
