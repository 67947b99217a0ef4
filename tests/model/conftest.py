"""Fixtures shared by the model tests: a small corpus, the tokenizer trained on it, and a stand-in
for `PoseGPT.chat` that records what it is asked."""

from __future__ import annotations

import pytest
import torch

from posegpt.body.rotations import axis_angle_to_rotmat
from posegpt.model import PoseGPT, Reply, build_model, train_tokenizer

PHRASES = [
    "Sure, the SMPL pose is <POSE>.",
    "Can you predict the SMPL pose of the person in this image?",
    "There is a person: {} Please output this person's SMPL pose.",
    "{} Give the SMPL pose.",
    "What colour is the sky? The sky is blue.",
    "Here it is: <POSE>",
    "First <POSE> then <POSE>.",
]
DESCRIPTIONS = [
    "The person stands with both arms raised above the head.",
    "Someone squats low with the knees bent and the back straight.",
    "A man kicks forward with his right leg.",
    "The woman leans to the left with her hands on her hips.",
    "The person waves the left hand.",
]


@pytest.fixture(scope="session")
def corpus() -> list[str]:
    """A few hundred short strings."""
    texts = [p.format(d) for p in PHRASES for d in DESCRIPTIONS]
    return texts * 10


@pytest.fixture(scope="session")
def tokenizer(corpus):
    return train_tokenizer(corpus, vocab_size=600)


@pytest.fixture(scope="session")
def make_batch():
    """make_batch(model): a collated batch with one image sample and one text sample, 3 poses."""

    def make(model):
        generator = torch.Generator().manual_seed(0)
        image = "<image>\nCan you predict the SMPL pose?"
        samples = []
        for question, answer in [
            (image, "Sure, the SMPL pose is <POSE>."),
            ("Two?", "<POSE> <POSE>"),
        ]:
            messages = [
                {"role": "user", "content": question},
                {"role": "assistant", "content": answer},
            ]
            ids, labels = model.encode(messages)
            poses = axis_angle_to_rotmat(
                torch.randn(answer.count("<POSE>"), 24, 3, generator=generator)
            )
            samples.append({"input_ids": ids, "labels": labels, "poses": poses})
        size = model.config.image_size
        samples[0]["pixel_values"] = torch.randn(3, size, size, generator=generator)
        return model.collate_fn(samples)

    return make


class RecordingChat:
    """A stand-in for `PoseGPT.chat`: `answering(reply)` is a chat that answers `reply` to any
    messages and records them in `asked`."""

    def __init__(self) -> None:
        self.asked: list[list[dict]] = []

    def answering(self, reply: Reply):
        def answer(messages):
            self.asked.append(messages)
            return reply

        return answer


@pytest.fixture
def recording_chat() -> RecordingChat:
    return RecordingChat()


@pytest.fixture
def words_only_model(tokenizer) -> PoseGPT:
    """A tiny untrained model without sentence features (the options that need them are off)."""
    torch.manual_seed(0)
    model = build_model("tiny", tokenizer).eval()
    assert model.text_features is None
    return model
