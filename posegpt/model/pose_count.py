"""How many poses a request's words ask for, and decoding held to it.

The model often stops one pose short of a sequence ("Squat down low, then jump up" -> one pose)
or gives one pose to "three ways to wait for a bus", sure of its stop token (BENCHMARKS.md,
"Poses counted from the words"). Words that state a count say it plainly: "two ways", "three
poses", "a couple of positions" ask for exactly that many; each sequence word ("then",
"followed by", "finally", "after that", "afterwards") starts one more step, and a numbered list
("1. stand tall 2. touch your toes 3. stand back up"), ordinals after "first" ("First squat,
second lunge."), "pose one ... pose two" and "from sitting ... to standing" ask for at least as
many poses as they number.
`PoseGPT.chat(count_from_words=True)` holds a words-only reply to that count with
`PoseCountBound`, only once the reply has a pose: a question that wants none (and says "three
ways" of splitting a sum) is left to answer in words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from transformers import LogitsProcessor

#: Count words, and the nouns they must count (within three words: "two different yoga poses").
COUNTS = {"two": 2, "three": 3, "four": 4, "2": 2, "3": 3, "4": 4, "couple": 2}
_COUNTED = (
    r"(?:ways?|poses?|positions?|steps?|stages?|stretches|kinds?|moves?|halves|phases"
    r"|variations|examples|options|versions)"
)
_STATED = re.compile(
    rf"\b({'|'.join(COUNTS)})(?:\s+[\w'-]+){{0,3}}?\s+{_COUNTED}\b", flags=re.IGNORECASE
)
#: Words that start another step ("then hold still" is the same pose held).
_NEXT_STEP = re.compile(
    r"\b(?:then(?! hold (?:still|it)\b)|followed by|finally|after that|afterwards)\b",
    flags=re.IGNORECASE,
)

#: Ordinals that number a later step when "first" numbers the first.
_ORDINALS = {"second": 2, "third": 3, "fourth": 4}
_FIRST = re.compile(r"\bfirst\b", flags=re.IGNORECASE)
_LATER = re.compile(rf"\b({'|'.join(_ORDINALS)})\b", flags=re.IGNORECASE)
_POSE_NUMBER = re.compile(r"\bpose\s+(one|two|three|four)\b", flags=re.IGNORECASE)
_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4}
#: A numbered list's numbers ("1. ", "2) ").
_LIST_NUMBER = re.compile(r"(?:^|\s)([1-4])[.)]\s")
#: A change from one posture to another: "from sitting on a chair to standing up".
_FROM_TO = re.compile(
    r"\bfrom\s+(?:\w+\s+){0,2}?\w+ing\b[^.!?]*?\bto\s+(?:\w+\s+){0,2}?\w+ing\b",
    flags=re.IGNORECASE,
)


@dataclass(frozen=True)
class PoseCount:
    """How many poses a request asks for: at least `least`, at most `most` (None: no limit)."""

    least: int
    most: int | None = None


def asked_count(text: str) -> PoseCount | None:
    """The count `text`'s words ask for, or None when they do not say: a stated count exactly,
    else at least one more than its sequence words ("Sit, then lie back" -> at least 2) or as
    many as it numbers."""
    stated = _STATED.search(text)
    if stated:
        count = COUNTS[stated.group(1).lower()]
        return PoseCount(count, count)
    least = max(1 + len(_NEXT_STEP.findall(text)), _numbered(text))
    return PoseCount(least) if least > 1 else None


def _numbered(text: str) -> int:
    """The most poses `text` numbers: its numbered list's last number, its last ordinal after
    "first", its "pose N", 2 for "from X-ing to Y-ing" (0 if none)."""
    numbers = sorted({int(n) for n in _LIST_NUMBER.findall(text)})
    counts = [numbers[-1]] if numbers[:2] == [1, 2] else []
    if _FIRST.search(text):
        counts += [_ORDINALS[word.lower()] for word in _LATER.findall(text)]
    counts += [_NUMBERS[word.lower()] for word in _POSE_NUMBER.findall(text)]
    counts += [2] if _FROM_TO.search(text) else []
    return max(counts, default=0)


class PoseCountBound(LogitsProcessor):
    """Once the new tokens (after `prompt_length`) hold a `pose_id`, bans `stop_ids` until they
    hold `count.least`; bans `pose_id` once they hold `count.most`."""

    def __init__(
        self, count: PoseCount, prompt_length: int, pose_id: int, stop_ids: Iterable[int]
    ) -> None:
        self.count, self.prompt_length, self.pose_id = count, prompt_length, pose_id
        self.stop_ids = list(stop_ids)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.Tensor) -> torch.Tensor:
        poses = (input_ids[:, self.prompt_length :] == self.pose_id).sum(dim=1)
        scores = scores.clone()
        short = (poses >= 1) & (poses < self.count.least)
        scores[short.nonzero()[:, 0][:, None], self.stop_ids] = -torch.inf
        if self.count.most is not None:
            scores[poses >= self.count.most, self.pose_id] = -torch.inf
        return scores
