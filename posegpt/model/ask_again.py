"""Messages that want a pose without asking for one: "cobra", "glute bridge", "A lad kicking a
football". The model often answers such a terse message in words ("I only know about human
body poses ..."), though asked for "the pose" of it, it gives the right one (BENCHMARKS.md,
"Terse requests asked again"). `PoseGPT.chat(ask_again=True)` asks a words-only message that
is no question and got no pose again as `AGAIN`, and keeps that reply if it holds exactly one
pose whose words the model's sentence embedder finds close to the message: "Bye for now." asked
again gets a yoga pose whose words are nothing like it, and keeps its words-only reply.

Asked about a photo of someone, "What pose is he in?", the model often describes the pose in
words with no pose; `PoseGPT.chat(photo_ask_again=True)` asks such a question again, with the
picture, when the reply does not lean to refusing (`posegpt.model.refusal`: someone the question
describes who is not there), and if that reply holds one pose, answers with the first reply's
words (a description asked for stays) followed by it. In a picture of one person, a question
still answered in words ("How are they posed in this picture?") is then asked as the training
data asks for a photo's pose (`ONE_PERSON_AGAIN`), whose answer the model rarely gives in words.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import torch

from posegpt.records import IMAGE_TOKEN, with_image

#: How a message is asked again.
AGAIN = "Show me the pose: {message}"
#: How a question about a picture of one person is asked when AGAIN gives no pose: one of the
#: training data's image -> pose questions (a test keeps it one).
ONE_PERSON_AGAIN = "Can you predict the SMPL pose of the person in this image?"
#: Least cosine between the message and the words of its answer asked again (MiniLM's).
MIN_COSINE = 0.25
#: First words of a question (a question is answered as it is).
QUESTION_WORDS = frozenset(
    [
        "what",
        "why",
        "how",
        "which",
        "who",
        "whom",
        "whose",
        "where",
        "when",
        "is",
        "are",
        "am",
        "was",
        "were",
        "can",
        "could",
        "do",
        "does",
        "did",
        "should",
        "would",
        "will",
        "shall",
        "may",
        "might",
        "have",
        "has",
    ]
)
_WORD = re.compile(r"[a-z']+")


def is_question(text: str) -> bool:
    """Whether `text` asks a question: it holds "?" or starts with a QUESTION_WORDS word."""
    words = _WORD.findall(text.lower())
    return "?" in text or bool(words and words[0] in QUESTION_WORDS)


def close_enough(embed: Callable[[list[str]], torch.Tensor], message: str, words: str) -> bool:
    """Whether `embed` (texts -> (N, D) sentence embeddings) puts `words` within MIN_COSINE of
    `message`."""
    first, second = torch.nn.functional.normalize(embed([message, words]).float(), dim=-1)
    return float(first @ second) >= MIN_COSINE


def again(message: str) -> str:
    """`message` asked again for its pose (AGAIN), its picture marker, if any, kept in front."""
    if IMAGE_TOKEN not in message:
        return AGAIN.format(message=message)
    return with_image(AGAIN.format(message=message.replace(IMAGE_TOKEN, "").strip()))
