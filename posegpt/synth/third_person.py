"""Imperatives said of someone else: "sit down and put your hands on your knees" -> "sits down
and puts her hands on her knees" (for "a woman sits down and ...").

The verbs are recognised and inflected by `lemminflect`; the imperative's first word must be a
verb's base form; so must each word after "and" or a comma that is conjugated too ("lie down,
raise your arm and bend your knees"; body parts and sides, "hand and knee", stay as they are).
"""

from __future__ import annotations

import re
from functools import cache

from lemminflect import getAllLemmas, getInflection

#: Pronouns for a possessive: subject, object, reflexive, and the verb "be" after the subject.
PRONOUNS = {
    "his": ("he", "him", "himself", "is"),
    "her": ("she", "her", "herself", "is"),
    "their": ("they", "them", "themselves", "are"),
}
#: Words that are verbs too ("to knee", "to right") but never start a clause of a pose request.
NOT_VERBS = frozenset(
    {"arm", "arms", "elbow", "foot", "hand", "head", "heel", "hip", "knee", "leg", "neck", "toe"}
    | {"left", "right"}
)
_NEXT_CLAUSE = re.compile(r"(?:(?<= and )|(?<=, ))([a-z]+)")


@cache
def is_base_verb(word: str) -> bool:
    """Whether `word` is a verb's base form ("sit", not "sits" or "arms")."""
    return word in getAllLemmas(word, upos="VERB").get("VERB", ())


def _third(verb: str) -> str:
    return getInflection(verb, tag="VBZ")[0]


def third_person(imperative: str, poss: str) -> str | None:
    """`imperative` as said of a subject whose possessive is `poss` ("his", "her", "their"),
    without the subject; None where it does not start with a verb ("arms up in victory")."""
    if poss not in PRONOUNS:
        raise ValueError(f"possessive must be one of {sorted(PRONOUNS)}, not {poss!r}")
    first, _, rest = imperative.partition(" ")
    if not is_base_verb(first):
        return None
    subject, obj, reflexive, be = PRONOUNS[poss]
    rest = _NEXT_CLAUSE.sub(
        lambda m: _third(m[1]) if is_base_verb(m[1]) and m[1] not in NOT_VERBS else m[1], rest
    )
    rest = re.sub(r"\byourself\b", reflexive, rest)
    rest = re.sub(r"\byou are\b", f"{subject} {be}", rest)
    rest = re.sub(r"\byour\b", poss, rest)
    rest = re.sub(r"\byou\b", obj, rest)
    return f"{_third(first)} {rest}".strip()
