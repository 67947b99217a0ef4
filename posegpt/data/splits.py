"""Deterministic train / val / test splits of small lists (templates, situations, questions).

Every held-out list in the data engine goes through `split_items`: the items are shuffled by a
random stream keyed by (seed, salt) and cut at fixed fractions, each split getting at least one
item. The same seed and salt always give the same split; a different salt (one per list) keeps
the lists' splits independent. Appending items to a list may move existing items between
splits: splits are a function of the whole list.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import TypeVar

import numpy as np

from posegpt.errors import InvalidInputError

T = TypeVar("T")

SPLITS = ("train", "val", "test")
#: Share of each list that each split gets.
DEFAULT_FRACTIONS: Mapping[str, float] = {"train": 0.7, "val": 0.15, "test": 0.15}


def stream(seed: int, salt: str) -> np.random.Generator:
    """A random stream keyed by an integer seed and a string (stable across runs and hosts)."""
    return np.random.default_rng([int(seed), zlib.crc32(salt.encode("utf-8"))])


def split_items(
    items: Sequence[T],
    seed: int,
    salt: str,
    fractions: Mapping[str, float] = DEFAULT_FRACTIONS,
) -> dict[str, tuple[T, ...]]:
    """Split `items` into disjoint groups, one per key of `fractions` (in that order).

    Each group gets round(fraction x len) items (at least one); the first group takes what is
    left. Items keep their original order within a group.
    """
    if not fractions or any(f <= 0 for f in fractions.values()):
        raise InvalidInputError(f"split fractions must be positive, got {dict(fractions)}")
    names = list(fractions)
    if len(items) < len(names):
        raise InvalidInputError(
            f"cannot split {len(items)} items into {len(names)} non-empty splits ({salt})"
        )
    total = sum(fractions.values())
    counts = {n: max(1, round(fractions[n] / total * len(items))) for n in names[1:]}
    counts[names[0]] = len(items) - sum(counts.values())
    if counts[names[0]] < 1:
        raise InvalidInputError(f"too few items ({len(items)}) for the splits of {salt}")
    order = stream(seed, salt).permutation(len(items))
    out: dict[str, tuple[T, ...]] = {}
    start = 0
    for name in names:
        chosen = sorted(order[start : start + counts[name]])
        out[name] = tuple(items[i] for i in chosen)
        start += counts[name]
    return out


def in_split(groups: Mapping[str, tuple[T, ...]], split: str, what: str) -> tuple[T, ...]:
    """groups[split], or InvalidInputError naming `what` and the valid splits."""
    if split not in groups:
        raise InvalidInputError(f"{what} has no split {split!r}; valid: {', '.join(groups)}")
    return groups[split]
