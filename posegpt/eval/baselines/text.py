"""Text -> pose baselines on frozen MiniLM sentence embeddings.

`NearestCaption` returns the training pose whose text is closest to the request (cosine
similarity of the embeddings), `NearestRequest` that of the closest training request in
everyday words, `NearestFamily` the template of the pose family whose phrase is closest (no
training); `TextRegressor` is a PoseScript-style regressor: an MLP on the embedding, the paper's
pose head (24 x 6D -> rotation matrices), trained with the L1 loss on rotation matrices on the
training pairs (best epoch on val).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from posegpt.errors import InvalidInputError
from posegpt.eval.baselines.base import TEXT_TASKS, Budget, Method
from posegpt.eval.baselines.mean_pose import mean_rotation
from posegpt.eval.baselines.training import fit_regressor, pose_head, predict
from posegpt.eval.items import TextSet, TrainData
from posegpt.model.pose_head import pose_loss
from posegpt.model.text_embedder import SentenceEmbedder
from posegpt.synth.pose_families import FAMILY_INFO
from posegpt.synth.poses import template_pose


def _text_pairs(train: TrainData) -> TextSet:
    if train.text is None or len(train.text) == 0:
        raise InvalidInputError("text baselines need text->pose training pairs")
    return train.text


class NearestCaption(Method):
    """The training pose whose text's MiniLM embedding is most similar to the request's."""

    name = "nearest caption"
    tasks = TEXT_TASKS

    def __init__(self, embedder: SentenceEmbedder | None = None) -> None:
        self.embedder = embedder or SentenceEmbedder()
        self.keys: torch.Tensor | None = None
        self.poses: torch.Tensor | None = None

    def fit(self, train: TrainData, progress: bool = True) -> None:
        pairs = self.pairs(train)
        self.keys = self.embedder.embed(pairs.texts, progress=progress)
        self.poses = pairs.poses

    def pairs(self, train: TrainData) -> TextSet:
        """The (text, pose) pairs searched."""
        return _text_pairs(train)

    def nearest(self, texts: Sequence[str]) -> torch.Tensor:
        """(N,) index of the closest training text for each of `texts`."""
        if self.keys is None:
            raise InvalidInputError(f"fit the {self.name.replace(' ', '-')} baseline first")
        return (self.embedder.embed(list(texts)) @ self.keys.T).argmax(dim=1)

    def predict_text(
        self, texts: Sequence[str], prompts: Sequence[str] | None = None
    ) -> torch.Tensor:
        return self.poses[self.nearest(texts)].clone()


class NearestRequest(NearestCaption):
    """The pose of the training request (the instruction conversations' one-pose requests, in
    everyday words) whose MiniLM embedding is most similar to the request's."""

    name = "nearest request"

    def can_fit(self, train: TrainData) -> bool:
        return train.requests is not None and len(train.requests) > 0

    def pairs(self, train: TrainData) -> TextSet:
        if not self.can_fit(train):
            raise InvalidInputError("the nearest-request baseline needs one-pose requests")
        return train.requests


def family_texts() -> list[str]:
    """Each pose family's phrase as a sentence about someone, as a request reads."""
    return [f"someone {family.phrase}" for family in FAMILY_INFO.values()]


class NearestFamily(NearestCaption):
    """The template pose (every range at its centre) of the pose family whose phrase's MiniLM
    embedding is most similar to the request's; learns nothing."""

    name = "nearest family"

    def can_fit(self, train: TrainData) -> bool:
        return True

    def pairs(self, train: TrainData) -> TextSet:
        """The family phrases and templates (nothing from `train`; built in `fit`, not at
        construction, so that runs without text tasks never load MiniLM)."""
        templates = torch.stack([template_pose(f)[0] for f in FAMILY_INFO.values()])
        return TextSet(family_texts(), templates)


class TextRegressor(Method):
    """MLP(MiniLM embedding) -> pose head, trained on the training text-pose pairs."""

    name = "text regressor"
    tasks = TEXT_TASKS

    def __init__(
        self, embedder: SentenceEmbedder | None = None, budget: Budget | None = None
    ) -> None:
        self.embedder = embedder or SentenceEmbedder()
        self.budget = budget or Budget()
        self.net: nn.Module | None = None
        self.history: list[dict[str, float]] = []

    def fit(self, train: TrainData, progress: bool = True) -> None:
        pairs = _text_pairs(train)
        torch.manual_seed(self.budget.seed)
        hidden = 512
        self.net = nn.Sequential(
            nn.Linear(self.embedder.dim, hidden),
            nn.GELU(),
            nn.Dropout(0.1),
            pose_head(hidden, mean_rotation(pairs.poses)),
        )
        val = None
        if train.text_val is not None and len(train.text_val):
            val = (self.embedder.embed(train.text_val.texts), train.text_val.poses)
        inputs = self.embedder.embed(pairs.texts, progress=progress)
        self.history = fit_regressor(
            self.net, inputs, pairs.poses, pose_loss, self.budget, val, self.name, progress
        )

    def predict_text(
        self, texts: Sequence[str], prompts: Sequence[str] | None = None
    ) -> torch.Tensor:
        if self.net is None:
            raise InvalidInputError("fit the text regressor first")
        return predict(self.net, self.embedder.embed(list(texts)))
