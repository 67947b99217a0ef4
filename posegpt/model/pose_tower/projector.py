"""The pose tower's trained projector: person features -> a small group of LM tokens each.

As LLaVA's projector maps frozen CLIP features into the LM, a two-layer MLP maps each person
slot's frozen BlazePose features (`features.tower_features`) to `tokens` input embeddings; a
picture becomes `slots x tokens` embeddings, written at its `<image>` placeholders. The
detector itself is frozen, lives outside the module (never saved with the model) and runs only
at inference: training reads features stored once per dataset (`posegpt.model.pose_tower.cache`).
"""

from __future__ import annotations

import torch
from torch import nn

from posegpt.errors import InvalidInputError
from posegpt.model.pose_tower.features import FEATURE_DIM


class PoseTowerProjector(nn.Module):
    """(N, slots, FEATURE_DIM) features -> (N, slots * tokens, hidden) embeddings."""

    def __init__(self, hidden_size: int, slots: int, tokens: int) -> None:
        super().__init__()
        self.slots, self.tokens, self.hidden_size = slots, tokens, hidden_size
        self.mlp = nn.Sequential(
            nn.Linear(FEATURE_DIM, hidden_size),
            nn.GELU(),
            nn.Linear(hidden_size, tokens * hidden_size),
        )
        self.slot_embedding = nn.Parameter(torch.zeros(slots, tokens, hidden_size))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if features.ndim != 3 or features.shape[1:] != (self.slots, FEATURE_DIM):
            raise InvalidInputError(
                f"pose tower features must be (N, {self.slots}, {FEATURE_DIM}), "
                f"got {tuple(features.shape)}"
            )
        weight = self.mlp[0].weight
        tokens = self.mlp(features.to(weight.dtype)).view(
            -1, self.slots, self.tokens, self.hidden_size
        )
        return (tokens + self.slot_embedding).reshape(len(features), -1, self.hidden_size)
