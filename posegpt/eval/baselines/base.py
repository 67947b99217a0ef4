"""The interface every benchmarked method shares (posegpt and the baselines)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from PIL import Image

from posegpt.eval.items import Box, TrainData

#: The pose benchmarks a method may answer.
TEXT_TASKS = ("text2pose", "spg")
IMAGE_TASKS = ("image2pose", "rpe")


@dataclass(frozen=True)
class Budget:
    """The training budget of the learned baselines (one class for all of them).

    epochs: passes over the training pairs; fit_steps: Adam steps of the keypoint fit;
    image_size: side of the pictures the CNNs read.
    """

    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    fit_steps: int = 200
    image_size: int = 64
    seed: int = 0


class Method:
    """A way to answer pose requests. Subclasses set `name` and `tasks` and implement the
    predictions for those tasks; `fit` learns from training data (default: nothing to learn).

    predict_text(texts, prompts): a pose per text (a description or a situation query);
    predict_image(images, descriptions, prompts, people): a pose per picture (root in
    POSE_FRAME, as the camera saw it), `descriptions` naming the person for RPE, `people` the
    boxes of everyone in each picture (the oracle detector). `prompts` are the user messages as
    the test set words them, read only by methods that chat.
    """

    name: str = "method"
    tasks: tuple[str, ...] = ()
    #: Whether predict_image reads `descriptions` (if not, RPE asks once per picture).
    reads_descriptions: bool = False
    #: Whether the method answers in a conversation (conversation benchmarks).
    chats: bool = False

    def can_fit(self, train: TrainData) -> bool:
        """Whether `train` holds what this method learns from for at least one of its tasks."""
        has_text = train.text is not None and set(self.tasks) & set(TEXT_TASKS)
        return bool(has_text or (train.crops is not None and set(self.tasks) & set(IMAGE_TASKS)))

    def fit(self, train: TrainData, progress: bool = True) -> None:
        """Learn from `train` (its val part for model selection)."""

    def predict_text(
        self, texts: Sequence[str], prompts: Sequence[str] | None = None
    ) -> torch.Tensor:
        raise NotImplementedError(f"{self.name} does not answer text requests")

    def predict_image(
        self,
        images: Sequence[Image.Image],
        descriptions: Sequence[str] | None = None,
        prompts: Sequence[str] | None = None,
        people: Sequence[Sequence[Box]] | None = None,
    ) -> torch.Tensor:
        raise NotImplementedError(f"{self.name} does not answer image requests")
