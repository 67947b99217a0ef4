"""Family hints: the pose families whose phrases a user's words mean, added to those words.

MiniLM knows far more wordings than the training templates teach. Compared with the phrase of
every pose family ("someone kneeling on one knee"), the sentence embedding of a request in new
words ("someone proposing marriage", "sho me sombody doing a pushup") names the right family
far more often than the nearest training request does (BENCHMARKS.md, "Family hints"). With
`family_hints`, each user turn (and each clause, with `clause_features`) reads its `TOP_K` most
similar families: their phrases' token embeddings (the LM's own, so a hint looks like the
family's words), averaged with softmax weights of the similarities, times a learned gate that
starts at zero (a model grown by hints first answers as before). The model learns when to
follow a hint; the words of the families come from the family tables, so a family a
contributor adds is hinted with no retraining of this module.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import PreTrainedTokenizerFast

from posegpt.model.text_embedder import SentenceEmbedder
from posegpt.synth.pose_families import FAMILY_INFO

#: Families each hint mixes, and the temperature of their softmax over cosine similarities.
TOP_K = 3
TEMPERATURE = 0.05


def family_texts() -> list[str]:
    """What each family's phrase is compared as (a sentence about someone, like a request)."""
    return [f"someone {family.phrase}" for family in FAMILY_INFO.values()]


def nearest_families(
    features: torch.Tensor, phrases: torch.Tensor, k: int = TOP_K
) -> tuple[torch.Tensor, torch.Tensor]:
    """The `k` families whose phrase embeddings (F, dim) are most similar to each of (N, dim)
    sentence embeddings: (N, k) indices into `FAMILY_INFO`'s order, most similar first, and
    (N, k) cosine similarities."""
    similarity, index = (features.float() @ phrases.to(features.device).float().T).topk(k, dim=-1)
    return index, similarity


class FamilyHints(nn.Module):
    """(N, dim) sentence embeddings -> (N, H) hints: the nearest families' phrase embeddings."""

    def __init__(self, tokenizer: PreTrainedTokenizerFast) -> None:
        super().__init__()
        phrases = [family.phrase for family in FAMILY_INFO.values()]
        ids = tokenizer(phrases, add_special_tokens=False)["input_ids"]
        longest = max(len(i) for i in ids)
        padded = torch.tensor([i + [0] * (longest - len(i)) for i in ids])
        mask = torch.tensor([[1.0] * len(i) + [0.0] * (longest - len(i)) for i in ids])
        # derived from the family tables and the tokenizer, not saved with the weights
        self.register_buffer("phrase_ids", padded, persistent=False)
        self.register_buffer("phrase_mask", mask / mask.sum(1, keepdim=True), persistent=False)
        self.phrase_features: torch.Tensor | None = None  # MiniLM's, on first use
        self.gate = nn.Parameter(torch.zeros(()))

    def nearest(
        self, features: torch.Tensor, embedder: SentenceEmbedder
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The `TOP_K` families nearest each of (N, dim) embeddings: (N, K) indices into
        `FAMILY_INFO`'s order and (N, K) softmax weights."""
        if self.phrase_features is None:
            self.phrase_features = embedder.embed(family_texts())
        index, similarity = nearest_families(features, self.phrase_features)
        return index, torch.softmax(similarity / TEMPERATURE, dim=-1)

    def forward(
        self, features: torch.Tensor, embedder: SentenceEmbedder, token_embeddings: nn.Module
    ) -> torch.Tensor:
        """(N, H) hints for (N, dim) sentence embeddings, in the LM's input space."""
        index, weights = self.nearest(features, embedder)
        words = token_embeddings(self.phrase_ids[index])  # (N, K, T, H)
        phrases = (words * self.phrase_mask[index][..., None].to(words.dtype)).sum(2)
        return self.gate * (weights[..., None].to(phrases.dtype) * phrases).sum(1)
