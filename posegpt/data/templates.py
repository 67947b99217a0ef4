"""Question and answer templates for the pose-request tasks.

The paper's templates (9 text->pose questions, 5 image questions, 8 answers) come first in each
list, then our own variants. Questions are split train / val / test per kind (`question_split`,
`posegpt.data.splits`) so that evaluation asks with wordings never seen in training; answers are
what the model writes, so every split uses all of them.

Fields: `{description}` is a sentence describing a pose (text->pose); `{target}` is a noun phrase
that singles out one person in a multi-person image ("the man in the red t-shirt on the left",
RPE; it always ends a sentence). Image questions carry no `<image>` marker:
`posegpt.records.with_image` puts it in front, as LLaVA does.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from posegpt.data.splits import in_split, split_items
from posegpt.errors import InvalidInputError
from posegpt.records import POSE_TOKEN, with_image

TEXT2POSE_QUESTIONS: tuple[str, ...] = (
    # The paper's nine.
    "There is a person: {description} Please output this person's SMPL pose.",
    "{description} Give the SMPL pose.",
    "Could you generate the SMPL pose of this person? {description}",
    "Here is a description of a person's pose: {description} What is the SMPL pose?",
    "{description} Please output the SMPL pose of this person.",
    'Given the description "{description}", generate the corresponding SMPL pose.',
    "Can you give the SMPL pose that matches this description? {description}",
    "Description: {description} Output the SMPL pose.",
    "Please generate the 3D human pose described below in SMPL format. {description}",
    # Ours.
    "Read this and show me the pose: {description}",
    "{description} What SMPL pose is this?",
    "I will describe a pose. {description} Can you turn it into SMPL parameters?",
    "Make a 3D body take this pose: {description}",
    "Pose description: {description} Return the matching SMPL pose.",
    "Someone is posed like this: {description} What is their pose?",
    "{description} Show this pose in 3D.",
    "Turn the following text into a body pose. {description}",
    "What pose matches the following? {description}",
)

IMAGE2POSE_QUESTIONS: tuple[str, ...] = (
    # The paper's five.
    "Can you predict the SMPL pose of the person in this image?",
    "What is the SMPL pose of the person in this image?",
    "Please estimate the SMPL pose of the person in the image.",
    "Could you output the SMPL pose of the human in this picture?",
    "Give the SMPL pose of the person shown in the image.",
    # Ours.
    "What pose is this person in? Answer with the SMPL pose.",
    "Estimate the 3D body pose of the person in this photo.",
    "Reconstruct the 3D pose of the person in the picture.",
    "How is the person in this image posed? Give SMPL parameters.",
    "Recover this person's SMPL pose.",
    "I'd like the 3D pose of the person here.",
    "Output the body pose of the person as SMPL.",
)

#: Requests for the pose in a photo as people write them, used in training only (in
#: EVERYDAY_IMAGE_SHARE of the training image->pose items); the everyday benchmark's photo
#: requests (`posegpt/eval/everyday/photo_requests.txt`) are held out from them.
IMAGE2POSE_EVERYDAY_QUESTIONS: tuple[str, ...] = (
    "Show me the pose of the person in this photo.",
    "What position is this person in? Give me the pose.",
    "Copy this person's pose.",
    "Can you pose a 3D body like the person here?",
    "Make a 3D pose from this picture.",
    "Give me a 3D body in the same pose as this person.",
    "How is this person standing or sitting? Show me in 3D.",
    "Recreate this pose in 3D, please.",
    "pose of the person in this pic?",
    "I need the 3D pose of the person in this photo.",
    "What's this person's pose? Make me a 3D version.",
    "Could you turn the person in this photo into a 3D pose?",
    "Build me a 3D body posed like this person.",
    "Get the pose from this photo.",
    "Show how this person is posed.",
    "Reproduce the body position you see here.",
)
EVERYDAY_IMAGE_SHARE = 0.15

RPE_QUESTIONS: tuple[str, ...] = (
    "What is the SMPL pose of {target}?",
    "Can you estimate the SMPL pose of {target}?",
    "Look at {target}. What is this person's SMPL pose?",
    "Please output the SMPL pose of {target}.",
    "Focus on {target}. Give me their SMPL pose.",
    "Find {target}. What pose are they in?",
    "I'm interested in {target}. Predict their SMPL pose.",
    "Give the 3D pose of {target}.",
    "The person I mean is {target}. What is their SMPL pose?",
    "Estimate the body pose of {target}.",
    "Take {target}. Show me their pose in SMPL.",
    "In this image, consider {target}. What pose are they in?",
)

POSE_ANSWERS: tuple[str, ...] = (
    # The paper's eight.
    f"Sure, the SMPL pose is {POSE_TOKEN}.",
    f"{POSE_TOKEN}.",
    f"The SMPL pose is {POSE_TOKEN}.",
    f"Sure, here is the SMPL pose: {POSE_TOKEN}.",
    f"Here is the SMPL pose of the person: {POSE_TOKEN}.",
    f"The SMPL pose of this person is {POSE_TOKEN}.",
    f"Sure. {POSE_TOKEN}.",
    f"Of course, the pose is {POSE_TOKEN}.",
    # Ours.
    f"Here you go: {POSE_TOKEN}.",
    f"This is the pose: {POSE_TOKEN}.",
    f"I estimate the pose as {POSE_TOKEN}.",
    f"The person's pose is {POSE_TOKEN}.",
)

#: Answers to a request for someone who is not in the picture (no pose is made up).
ABSENT_ANSWERS: tuple[str, ...] = (
    "I can't find {target} in this picture, so I have no pose to give.",
    "Nobody in this picture matches that description, so I can't give a pose.",
    "There is no one like {target} here. Could you describe the person differently?",
    "I don't see {target} in this image; nobody here fits that description.",
)

#: Requests to describe an input pose in words (the pose's placeholder goes before them).
POSE_DESCRIBE_QUESTIONS: tuple[str, ...] = (
    "Describe this pose.",
    "What pose is this?",
    "Describe this pose in words.",
    "How is the body positioned here?",
    "Can you describe this SMPL pose?",
    "Tell me what this person is doing with their body.",
)

QUESTIONS: dict[str, tuple[str, ...]] = {
    "text2pose": TEXT2POSE_QUESTIONS,
    "image2pose": IMAGE2POSE_QUESTIONS,
    "rpe": RPE_QUESTIONS,
}
#: Longest description or target phrase put into a question, in characters.
MAX_FIELD_CHARS = 2000
#: Numbers in words, zero to twenty (counts, sums, and reading numbers in answers).
NUMBER_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty",
)  # fmt: skip


@cache
def question_split(kind: str, seed: int = 0) -> dict[str, tuple[str, ...]]:
    """The question templates of `kind` ("text2pose", "image2pose", "rpe") per split."""
    if kind not in QUESTIONS:
        raise InvalidInputError(f"unknown question kind {kind!r}; valid: {', '.join(QUESTIONS)}")
    return split_items(QUESTIONS[kind], seed, f"questions/{kind}")


def as_sentence(text: str) -> str:
    """`text` stripped, its first letter capitalised, ending with a full stop if it has none."""
    text = _checked(text, "description")
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def _checked(text: str, name: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError(f"{name} must be a non-empty string")
    text = " ".join(text.split())
    if len(text) > MAX_FIELD_CHARS:
        raise InvalidInputError(f"{name} is longer than {MAX_FIELD_CHARS} characters")
    return text


def pick(templates: tuple[str, ...], rng: np.random.Generator) -> str:
    """One template, drawn uniformly."""
    return templates[int(rng.integers(len(templates)))]


def text2pose_question(
    description: str, rng: np.random.Generator, split: str = "train", seed: int = 0
) -> str:
    """A text->pose request for a pose described by `description`."""
    template = pick(in_split(question_split("text2pose", seed), split, "text2pose questions"), rng)
    return template.format(description=as_sentence(description))


def image2pose_question(rng: np.random.Generator, split: str = "train", seed: int = 0) -> str:
    """An image->pose request (with the `<image>` marker); in training, EVERYDAY_IMAGE_SHARE of
    them in everyday words."""
    if split == "train" and rng.random() < EVERYDAY_IMAGE_SHARE:
        return with_image(pick(IMAGE2POSE_EVERYDAY_QUESTIONS, rng))
    return with_image(
        pick(in_split(question_split("image2pose", seed), split, "image2pose questions"), rng)
    )


def rpe_question(target: str, rng: np.random.Generator, split: str = "train", seed: int = 0) -> str:
    """A request for the pose of the person `target` (a noun phrase) in an image."""
    template = pick(in_split(question_split("rpe", seed), split, "rpe questions"), rng)
    return with_image(template.format(target=_checked(target, "target").rstrip(" .!?")))


def absent_answer(target: str, rng: np.random.Generator) -> str:
    """An answer in words (no `<POSE>`) saying that nobody in the picture is `target`."""
    return pick(ABSENT_ANSWERS, rng).format(target=_checked(target, "target").rstrip(" .!?"))


def pose_answer(rng: np.random.Generator) -> str:
    """An assistant answer holding one `<POSE>`."""
    return pick(POSE_ANSWERS, rng)
