"""How many poses a request's words ask for, and decoding held to it.

The model often stops one pose short of a sequence ("Squat down low, then jump up" -> one pose)
or gives one pose to "three ways to wait for a bus", sure of its stop token, and sometimes starts
a sequence nobody asked for ("Could you show just the seated starting position?" -> two poses;
BENCHMARKS.md, "Poses counted from the words", "One pose unless the words ask for more"). Words
that state a count say it plainly: "two ways", "three poses", "three musicians", "a couple of
positions" ask for exactly that many; each sequence word ("then", "followed by", "finally", "after
that", "afterwards", "lastly", ". Next,", "->", "once you're there") starts one more step, steps
listed before the first ("Squat, plank, then jump.") count one each, and a numbered list ("1.
stand tall 2. touch your toes 3. stand back up"), ordinals after "first" ("First squat, second
lunge."), "pose one ... pose two" and "from sitting ... to standing" ask for at least as many
poses as they number, "From a squat to a jump" too; "start ... end", "before and after", "one
... and one ...", a list after a colon, "both a plank and a squat", "show both", two people ("a
man kneeling and a woman standing", "someone bowing and someone saluting", "a couple dancing")
for at least two. Words with none of these ask for one pose.
`PoseGPT.chat(count_from_words=True)` holds a words-only reply to that count with
`PoseCountBound`, only once the reply has a pose (a question that wants none, and says "three
ways" of splitting a sum, is left to answer in words), and ends it once it has all its poses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from transformers import LogitsProcessor

#: Count words, and the plural nouns they must count (within four words: "two different yoga
#: poses", "three musicians"; not "warrior two pose", "two arms" or "2 sets of squats").
COUNTS = {"two": 2, "three": 3, "four": 4, "2": 2, "3": 3, "4": 4, "couple": 2}
_COUNTED = (
    r"(?:ways|poses|positions|postures|stances|steps|stages|stretches|exercises|kinds|moves"
    r"|halves|phases|variations|examples|options|versions|keyframes|frames|pictures|images"
    r"|figures|shapes|gestures|actions|activities|things|jumps|tricks|dances|asanas|sports|jobs"
    r"|people|persons|men|women|musicians|dancers|athletes|players|workers)"
)
_STATED = re.compile(
    rf"\b({'|'.join(COUNTS)})(?:\s+[\w'-]+){{0,4}}?\s+{_COUNTED}\b", flags=re.IGNORECASE
)
#: "A sequence of three": a count too.
_SEQUENCE_OF = re.compile(rf"\b(?:sequence|series) of ({'|'.join(COUNTS)})\b", flags=re.IGNORECASE)
#: Words that start another step ("then hold still" is the same pose held; "Next: ..." that
#: starts a message asks for the next pose of a conversation, one).
_NEXT_STEP = re.compile(
    r"\b(?:then(?! hold (?:still|it)\b)|followed by|finally|after that|afterwards|lastly"
    r"|last of all|once you're there|once that's done|from there)\b|[,;.]\s*next\b|->",
    flags=re.IGNORECASE,
)
_PERSON = (
    r"(?:man|woman|boy|girl|kid|child|person|someone|somebody|lady|guy|dad|mum|mom|father"
    r"|mother|daughter|son|friend|grandma|grandpa|husband|wife|brother|sister|teacher|coach)"
)
#: Two people joined by "and", each with what they do ("a man kneeling and a woman standing
#: next to him", "someone bowing and someone saluting"): two poses, `a` and `b`.
TWO_PEOPLE = (
    rf"(?P<a>\b(?:(?:an?|one|the|his|her|their|my)\s+(?:\w+\s+)?{_PERSON}|some(?:one|body))\b"
    rf"[^.!?]*?)\s+and\s+(?P<b>(?:(?:an?|the|his|her|their|my|another)\s+(?:\w+\s+)?{_PERSON}"
    rf"|some(?:one|body))\b[^.!?]*)"
)
#: Words that ask for two poses or more without numbering them.
_SEVERAL = re.compile(
    r"\b(?:before and after|a sequence|a transition|one of each|step [12]|pose [ab]"
    r"|keyframe (?:one|two|1|2))\b|\bone\b[^.!?]*\band one\b"
    r"|\b(?:start|starting|begin|beginning)\b.*\b(?:end|ends|ending|finish|finishing)\b"
    r"|\bfirst\b[^.!?]*\band\b[^.!?]*\bafter\b|\bat first\b[^.!?]*\bat the end\b"
    r"|(?<!pose)(?<!description):[^.!?:;]*,[^.!?:;]*,"  # a list after a colon: "these: A, B, C."
    r"|\bboth an? \w+(?:\s+\w+)?\s+and an?\b"  # "both a plank and a squat"
    r"|\bshow (?:me )?both\b|\bboth:"
    r"|\bcouple\b(?!\s+of\b)"  # two people: "a couple dancing"
    rf"|{TWO_PEOPLE}",
    flags=re.IGNORECASE,
)

#: A sentence's words before its first sequence word that end in a list ("Squat, plank," ->
#: "Squat", "plank"): each item a step if its first word is no word of `_NOT_A_STEP` and no -ing
#: word ("Lie on your back, roll onto your side, then ..." lists two steps; "Start standing,
#: typing on a keyboard, then ..." and "Lie on your back, hands on your belly, then ..." one:
#: their commas add details).
_LIST_BEFORE = re.compile(r"(?:^|[.!?:;])([^.!?:;]*),\s*(?:and\s*)?$")
_NOT_A_STEP = re.compile(
    r"(?:with|without|on|in|at|the|a|an|both|his|her|their|my|your|one|and|or|hold|hey|hi"
    r"|hello|ok|okay|so|well|now|please|arms?|hands?|legs?|feet|knees?|head|back|body|eyes"
    r"|palms?|fingers?|elbows?|\w+ing)$",
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
#: A change from one posture to another: "from sitting on a chair to standing up", "From a
#: squat to a jump" (not "walking from a car to a house": a noun's change starts the sentence or
#: follows a word of change).
_FROM_TO = re.compile(
    r"\bfrom\s+(?:\w+\s+){0,2}?\w+ing\b[^.!?]*?\bto\s+(?:\w+\s+){0,2}?\w+ing\b"
    r"|(?:^|[.!?:]\s+|\b(?:go|goes|going|move|moves|moving|get|gets|getting|flow|transition)\s+)"
    r"from\s+an?\s+[\w-]+\s+to\s+an?\s+[\w-]+",
    flags=re.IGNORECASE,
)


#: Marks that may end a reply right after its last pose ("... is <POSE>.").
REPLY_ENDS = (".", "!")


@dataclass(frozen=True)
class PoseCount:
    """How many poses a request asks for: at least `least`, at most `most` (None: no limit)."""

    least: int
    most: int | None = None


def asked_count(text: str) -> PoseCount:
    """The count `text`'s words ask for: a stated count exactly, else at least one more than its
    sequence words ("Sit, then lie back" -> at least 2), as many as it numbers, or two where
    its words ask for several ("start ... end"); one when they give no sign of more."""
    stated = _STATED.search(text) or _SEQUENCE_OF.search(text)
    if stated:
        count = COUNTS[stated.group(1).lower()]
        return PoseCount(count, count)
    steps = 1 + len(_NEXT_STEP.findall(text)) + _listed(text)
    least = max(steps, _numbered(text), 2 if _SEVERAL.search(text) else 1)
    return PoseCount(least) if least > 1 else PoseCount(1, 1)


def _listed(text: str) -> int:
    """How many more steps than sequence words `text` lists: the steps listed before its first
    sequence word (`_LIST_BEFORE`), but the one that word follows."""
    step = _NEXT_STEP.search(text)
    listed = _LIST_BEFORE.search(text[: step.start()]) if step else None
    items = [item.split() for item in listed.group(1).split(",")] if listed else []
    steps = [i for i in items if i and not _NOT_A_STEP.match(i[0])]
    return len(items) - 1 if len(items) > 1 and len(steps) == len(items) else 0


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
    hold `count.least`; once they hold `count.most`, ends the reply: the token after the last
    pose may only be one of `stop_ids` or `end_ids` (a full stop), any later one only a stop
    (a model that wanted another pose would otherwise write on without it)."""

    def __init__(
        self,
        count: PoseCount,
        prompt_length: int,
        pose_id: int,
        stop_ids: Iterable[int],
        end_ids: Iterable[int] = (),
    ) -> None:
        self.count, self.prompt_length, self.pose_id = count, prompt_length, pose_id
        self.stop_ids, self.end_ids = list(stop_ids), list(end_ids)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.Tensor) -> torch.Tensor:
        poses = (input_ids[:, self.prompt_length :] == self.pose_id).sum(dim=1)
        scores = scores.clone()
        short = (poses >= 1) & (poses < self.count.least)
        scores[short.nonzero()[:, 0][:, None], self.stop_ids] = -torch.inf
        if self.count.most is not None:
            for row in (poses >= self.count.most).nonzero()[:, 0].tolist():
                after_pose = bool(input_ids[row, -1] == self.pose_id)
                allowed = self.stop_ids + (self.end_ids if after_pose else [])
                kept = scores[row, allowed]
                scores[row] = -torch.inf
                scores[row, allowed] = kept
        return scores
