"""Which person in a picture a request means: a small scorer of the pose tower's person slots.

RPE asks for "the woman in the brown shirt" among several people. The language model, reading
every person's landmark tokens, learns to bind what someone does to a person (the words name a
pose) but not what they wear (BENCHMARKS.md). `PersonChooser` scores each slot against the
request's MiniLM sentence embedding: an MLP over the request and the person's features (and how
they differ from the others'), plus a bilinear term between the request and a nonlinear read of
the person's box and colours (`appearance`; colour names are not linear in RGB), so "brown shirt"
or "on the left" can pick a person. When it is sure of
someone other than the largest person (whom the model reads first) and the person the model's
answer matches, chat answers again with the model reading only the chosen person (`focused`), as
it reads a crop (`PoseGPT.chat`). It is trained apart from the model on a dataset's RPE
descriptions (`posegpt.train.chooser`) and stored beside the weights (`CHOOSER_FILE`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

from posegpt.errors import ModelFileError
from posegpt.model.pose_tower.appearance import COLOUR_DIM, person_colours
from posegpt.model.pose_tower.features import (
    BOX_PART,
    COLOUR_PART,
    FEATURE_DIM,
    USED,
    feature_dim,
    people_count,
    row_person,
)
from posegpt.model.tokenizer import IMAGE_TOKEN

#: The chooser's file in a model folder.
CHOOSER_FILE = "chooser.safetensors"
#: Features of a person's looks: the box (place and size) and the colours.
_LOOKS = [*range(BOX_PART.start, BOX_PART.stop), *range(COLOUR_PART.start, COLOUR_PART.stop)]


def request_words(message: str) -> str:
    """What the chooser reads of a user message: its words, the `<image>` marker left out (the
    same in training and in chat)."""
    return message.replace(IMAGE_TOKEN, "").strip()


class PersonChooser(nn.Module):
    """(B, text_dim) request embeddings and (B, slots, FEATURE_DIM + COLOUR_DIM) person features
    -> (B, slots) scores, empty slots at -inf. Follow it when the softmax's top share is at
    least `confidence`."""

    def __init__(self, text_dim: int, width: int = 128, confidence: float = 0.0) -> None:
        super().__init__()
        self.text_dim, self.width, self.confidence = text_dim, width, confidence
        inputs = 2 * feature_dim(True)
        self.text = nn.Sequential(nn.Linear(text_dim, width), nn.GELU(), nn.Linear(width, width))
        self.person = nn.Sequential(nn.Linear(inputs, width), nn.GELU(), nn.Linear(width, width))
        self.score = nn.Sequential(nn.Linear(3 * width, width), nn.GELU(), nn.Linear(width, 1))
        self.look = nn.Sequential(nn.Linear(2 * len(_LOOKS), width), nn.GELU())
        self.looks = nn.Bilinear(text_dim, width, 1)

    def forward(self, request: torch.Tensor, people: torch.Tensor) -> torch.Tensor:
        used = people[..., USED] > 0
        count = used.sum(1, keepdim=True).clamp(min=1)[..., None]
        mean = (people * used[..., None]).sum(1, keepdim=True) / count
        person = self.person(torch.cat([people, people - mean], -1))
        text = self.text(request)[:, None].expand_as(person)
        scores = self.score(torch.cat([text, person, text * person], -1)).squeeze(-1)
        looks = torch.cat([people[..., _LOOKS], (people - mean)[..., _LOOKS]], -1)
        # unit sentence vectors scaled up, so the bilinear term learns at the MLP's pace
        words = 10.0 * request[:, None].expand(-1, people.shape[1], -1)
        scores = scores + self.looks(words.contiguous(), self.look(looks)).squeeze(-1)
        return scores.masked_fill(~used, -torch.inf)

    def choose(self, request: torch.Tensor, people: torch.Tensor) -> int | None:
        """The slot one request (text_dim,) means among one picture's people (slots, dim), or
        None when the picture holds fewer than two or the chooser is unsure."""
        if people_count(people) < 2:
            return None
        with torch.no_grad():
            shares = self(request[None].float(), people[None].float())[0].softmax(-1)
        best = int(shares.argmax())
        return best if float(shares[best]) >= self.confidence else None

    def save(self, folder: Path) -> None:
        meta = {"text_dim": self.text_dim, "width": self.width, "confidence": self.confidence}
        state = {k: v.contiguous() for k, v in self.state_dict().items()}
        save_file(state, folder / CHOOSER_FILE, metadata={"chooser": json.dumps(meta)})

    @classmethod
    def load(cls, file: Path) -> PersonChooser:
        """The chooser stored in `file` (safetensors); ModelFileError if it cannot be read."""
        try:
            with safe_open(file, "pt") as stored:
                meta = json.loads(stored.metadata()["chooser"])
                state = {name: stored.get_tensor(name) for name in stored.keys()}  # noqa: SIM118
            chooser = cls(int(meta["text_dim"]), int(meta["width"]), float(meta["confidence"]))
            chooser.load_state_dict(state, strict=True)
        except (OSError, SafetensorError, KeyError, TypeError, ValueError, RuntimeError) as err:
            raise ModelFileError(f"cannot read the person chooser {file}: {err}") from err
        if not all(torch.isfinite(t).all() for t in state.values()):
            raise ModelFileError(f"{file} holds NaN or infinite weights")
        return chooser.eval()


def with_colours(features: torch.Tensor, picture: np.ndarray) -> torch.Tensor:
    """Tower features (slots, FEATURE_DIM or more) -> (slots, FEATURE_DIM + COLOUR_DIM), each
    used slot's colours read from `picture` ((H, W, 3) uint8) where its landmarks are."""
    out = torch.zeros(len(features), FEATURE_DIM + COLOUR_DIM)
    out[:, :FEATURE_DIM] = features[:, :FEATURE_DIM]
    for slot, row in enumerate(features.float().numpy()):
        if row[USED] > 0:
            landmarks, box = row_person(row)
            out[slot, COLOUR_PART] = torch.from_numpy(person_colours(picture, landmarks, box))
    return out


def focused(features: torch.Tensor, slot: int) -> torch.Tensor:
    """Tower features holding only the person of `slot`, in the first slot (as in a crop)."""
    out = torch.zeros_like(features)
    out[0] = features[slot]
    return out
