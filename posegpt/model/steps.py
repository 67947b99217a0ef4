"""Several-pose answers with each step asked alone: "Squat down low, then jump up with your arms
overhead" -> the first pose from "Squat down low" and the second from "Jump up with your arms
overhead", each answered as a request of its own. The model answers single requests far better
than the k-th step of a sequence (BENCHMARKS.md, "Each step of a sequence asked alone"), so when
a reply holds as many poses as the request lists steps, `PoseGPT.chat(steps_alone=True)` asks
each step again by itself and answers with those poses, in order. A two-pose reply to a request
that names both steps in one clause ("Start kneeling and finish standing", "from crouching to
standing tall", "a man kneeling and a woman standing next to him") takes them from `two_steps`."""

from __future__ import annotations

import re
from collections.abc import Sequence

from posegpt.model.pose_count import TWO_PEOPLE
from posegpt.model.text_features import CLAUSE_ENDS, CLAUSE_STARTS, MIN_CLAUSE_WORDS
from posegpt.records import POSE_TOKEN

#: Words that lead a step without being part of it ("then sit down" -> "Sit down").
STEP_LEADS = frozenset({"and", "begin", "end", "first", "start", *CLAUSE_STARTS})
#: A word (with its inner hyphens and apostrophes: "cross-legged", "child's") or a mark.
_TOKEN = re.compile(r"\w+(?:[-'’]\w+)*|[^\w\s]")
_WORD = re.compile(r"\w")
#: Two steps in one clause: "start X and end Y", "from X to Y", "both X and Y", "one X and one
#: Y", two people joined by "and" ("a man kneeling and a woman standing next to him").
_TWO_STEPS = (
    r"\b(?:start|begin)(?:\s+(?:by|off|with))?\s+(?P<a>[^.!?]+?),?\s+and\s+(?:then\s+)?"
    r"(?:end|finish)(?:\s+(?:up|by|with))?\s+(?P<b>[^.!?]+)",
    r"\bfrom\s+(?P<a>[^.!?]+?)\s+to\s+(?P<b>[^.!?]+)",
    r"\bboth\s+(?P<a>an?\s+[^.!?,]+?)\s+and\s+(?P<b>an?\s+[^.!?,]+)",
    r"\b(?P<a>one\s+[^.!?]+?)\s+and\s+(?P<b>one\s+[^.!?]+)",
    TWO_PEOPLE,
)
_TWO_STEP_PATTERNS = tuple(re.compile(p, flags=re.IGNORECASE) for p in _TWO_STEPS)
#: Words said after each step's answer's own words, in order.
ORDINALS = ("First", "Then")


def step_clauses(text: str) -> list[str]:
    """The steps a request lists, as requests of their own: its clauses, cut where the model's
    clause features cut (after . , ; : ! ? and before "then", "finally", ...; a clause of fewer
    than MIN_CLAUSE_WORDS words joins the next), with preambles that end in ":" ("Three steps:")
    left out and leading STEP_LEADS words dropped."""
    clauses: list[list[str]] = [[]]
    for token in _TOKEN.findall(text):
        if token.lower() in CLAUSE_STARTS and _words(clauses[-1]) >= MIN_CLAUSE_WORDS:
            clauses.append([])
        clauses[-1].append(token)
        if token in CLAUSE_ENDS and _words(clauses[-1]) >= MIN_CLAUSE_WORDS:
            clauses.append([])
    if len(clauses) > 1 and _words(clauses[-1]) < MIN_CLAUSE_WORDS:
        tail = clauses.pop()  # a last clause too short to stand alone joins the one before
        clauses[-1].extend(tail)
    steps = []
    for clause in clauses:
        if not _words(clause) or clause[-1] == ":":
            continue
        while _words(clause) > MIN_CLAUSE_WORDS and clause[0].lower() in STEP_LEADS:
            clause = clause[1:]
        while clause and clause[-1] in ",;":
            clause = clause[:-1]
        step = re.sub(r" (?=[.,;:!?'])", "", " ".join(clause))
        steps.append(step[:1].upper() + step[1:])
    return steps


def two_steps(text: str) -> list[str] | None:
    """The two steps of a request that names them in one clause (`_TWO_STEPS`: "Start kneeling
    and finish standing." -> "Kneeling", "Standing"), as requests of their own; None if it does
    not."""
    for pattern in _TWO_STEP_PATTERNS:
        found = pattern.search(text)
        if found:
            return [_as_request(found["a"]), _as_request(found["b"])]
    return None


def _as_request(words: str) -> str:
    """A step's words as a request: capitalised, without trailing marks or "please"."""
    words = re.sub(r"[\s,;:]*(?:please)?[\s,;:!?.]*$", "", words.strip(), flags=re.IGNORECASE)
    return words[:1].upper() + words[1:]


def _words(tokens: Sequence[str]) -> int:
    """How many of `tokens` (of `_TOKEN`) are words, not marks."""
    return sum(bool(_WORD.match(token)) for token in tokens)


def joined_steps(texts: Sequence[str]) -> str:
    """One reply from the replies to the steps asked alone, each cut after its first `<POSE>`."""
    parts = []
    for k, text in enumerate(texts):
        head = text[: text.index(POSE_TOKEN) + len(POSE_TOKEN)] if POSE_TOKEN in text else text
        parts.append(f"{ORDINALS[min(k, len(ORDINALS) - 1)]}: {head.strip()}")
    return " ".join(parts)
