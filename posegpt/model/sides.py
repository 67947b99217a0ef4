"""Keeping the side a request names: "Kneel on your right knee" must not be answered "kneeling
on the left knee". When the user's last message names one side only, the other side's word
(" left" or " right", where the tokenizer has it as one token) is suppressed in the reply."""

from __future__ import annotations

import re

from transformers import PreTrainedTokenizerBase

from posegpt.body.skeleton import SIDES

_WORD = re.compile(r"[a-z]+")


def named_sides(text: str) -> set[str]:
    """The sides ("left", "right") that `text` names as whole words."""
    return {w for w in _WORD.findall(text.lower()) if w in SIDES}


def opposite_side_ids(tokenizer: PreTrainedTokenizerBase, text: str) -> list[int]:
    """Token ids of the side word `text` does not name, when it names exactly one side; none
    otherwise (no side, or both). Only a word the tokenizer holds as one token after a space
    (" left"), so that words containing it ("upright") stay possible."""
    sides = named_sides(text)
    if len(sides) != 1:
        return []
    (other,) = set(SIDES) - sides
    ids = tokenizer.encode(f" {other}", add_special_tokens=False)
    return ids if len(ids) == 1 else []
