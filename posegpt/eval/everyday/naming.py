"""Which pose family a reply's words name: "Here is someone kneeling on one knee" -> the family
"kneeling_one_knee". Every family is known by its id (underscores as spaces), its phrase and its
sided phrases; the longest name found in the text wins."""

from __future__ import annotations

import re
from functools import cache

from posegpt.records import POSE_TOKEN
from posegpt.synth.pose_families import FAMILY_LIST, SIDES

_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> str:
    return " " + " ".join(_WORD.findall(text.lower())) + " "


@cache
def family_names() -> tuple[tuple[str, str], ...]:
    """(name as spaced words, family), longest names first."""
    names = set()
    for family in FAMILY_LIST:
        spoken = [family.name.replace("_", " "), family.phrase]
        spoken += [family.describe(side) for side in SIDES]
        spoken += list(getattr(family, "aliases", ()))
        names.update((_words(s), family.name) for s in spoken)
    return tuple(sorted(names, key=lambda n: (-len(n[0]), n)))


def named_family(text: str) -> str | None:
    """The family whose longest name appears in `text` as whole words, or None."""
    words = _words(text.replace(POSE_TOKEN, " "))
    return next((family for name, family in family_names() if name in words), None)


def pose_words(reply: str) -> list[str]:
    """The words that go with each `<POSE>` of a reply: the text since the previous pose (the
    last pose also gets the text after it)."""
    parts = reply.split(POSE_TOKEN)
    if len(parts) < 2:
        return []
    words = parts[:-1]
    words[-1] += " " + parts[-1]
    return words
