"""The pose tower's trained projector: person features -> a small group of LM tokens each.

As LLaVA's projector maps frozen CLIP features into the LM, a two-layer MLP maps each person
slot's frozen BlazePose features (`features.tower_features`) to `tokens` input embeddings; a
picture becomes `slots x tokens` embeddings, written at its `<image>` placeholders. The
detector itself is frozen, lives outside the module (never saved with the model) and runs only
at inference: training reads features stored once per dataset (`posegpt.model.pose_tower.cache`).
With `colours` a second MLP, whose output starts at zero, adds what each person's colours say
(`appearance`), so a model grown by it starts out answering as before.
"""

from __future__ import annotations

import torch
from torch import nn

from posegpt.errors import InvalidInputError
from posegpt.model.pose_tower.appearance import COLOUR_DIM
from posegpt.model.pose_tower.features import FEATURE_DIM, feature_dim


def _mlp(inputs: int, hidden_size: int, tokens: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(inputs, hidden_size), nn.GELU(), nn.Linear(hidden_size, tokens * hidden_size)
    )


class PoseTowerProjector(nn.Module):
    """(N, slots, feature_dim(colours)) features -> (N, slots * tokens, hidden) embeddings."""

    def __init__(self, hidden_size: int, slots: int, tokens: int, colours: bool = False) -> None:
        super().__init__()
        self.slots, self.tokens, self.hidden_size = slots, tokens, hidden_size
        self.width = feature_dim(colours)
        self.mlp = _mlp(FEATURE_DIM, hidden_size, tokens)
        self.colours = _mlp(COLOUR_DIM, hidden_size, tokens) if colours else None
        if self.colours is not None:
            nn.init.zeros_(self.colours[-1].weight)
            nn.init.zeros_(self.colours[-1].bias)
        self.slot_embedding = nn.Parameter(torch.zeros(slots, tokens, hidden_size))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if features.ndim != 3 or features.shape[1:] != (self.slots, self.width):
            raise InvalidInputError(
                f"pose tower features must be (N, {self.slots}, {self.width}), "
                f"got {tuple(features.shape)}"
            )
        features = features.to(self.mlp[0].weight.dtype)
        tokens = self.mlp(features[..., :FEATURE_DIM])
        if self.colours is not None:
            tokens = tokens + self.colours(features[..., FEATURE_DIM:])
        tokens = tokens.view(-1, self.slots, self.tokens, self.hidden_size)
        return (tokens + self.slot_embedding).reshape(len(features), -1, self.hidden_size)
