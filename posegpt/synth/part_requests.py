"""Requests that name body parts, made true by the pose they ask for.

A pose's posecodes (`posegpt.body.posecodes`) say which clauses hold ("the left hand is on the
hip", "both knees are bent"); a request names its posture and one or two of them, in the
words of `world/parts.yaml`, three ways: an imperative ("sit down and put your left hand on your
hip"), a phrase ("sitting with the left hand on the hip") and a terse note ("seated, left hand
on the hip"). Left and right are the body's own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import yaml

from posegpt.body.posecodes import SIDES, join_and
from posegpt.data.templates import pick
from posegpt.errors import InvalidInputError
from posegpt.synth.world import WORLD_DIR

PARTS_FILE = WORLD_DIR / "parts.yaml"
REGISTERS = ("imp", "ger", "note")
_UPRIGHT = ("standing", "standing on one leg", "lunging")
_RAISED = ("above the head", "at head height")


def _sided(test: Callable[[dict, str], bool]) -> Callable[[dict], list[str]]:
    return lambda c: [s for s in SIDES if test(c, s)]


def _whole(test: Callable[[dict], bool]) -> Callable[[dict], list[str]]:
    return lambda c: [""] if test(c) else []


def _other(side: str) -> str:
    return SIDES[1 - SIDES.index(side)]


#: Clause name -> the sides of a pose's posecodes where it holds ("" for a whole-body clause).
HOLDS: dict[str, Callable[[dict], list[str]]] = {
    "arm_up": _sided(lambda c, s: c[f"{s}_hand_level"] == "above the head"),
    "one_arm_up": _sided(
        lambda c, s: (
            c[f"{s}_hand_level"] in _RAISED
            and c[f"{_other(s)}_hand_level"] == "down"
            and c[f"{_other(s)}_hand_near"] == "nothing"
        )
    ),
    "arm_out": _sided(
        lambda c, s: (
            c[f"{s}_hand_out"] == "out to the side"
            and c[f"{s}_hand_level"] in ("at chest height", "at shoulder height")
            and c[f"{s}_elbow"] in ("straight", "slightly bent")
        )
    ),
    "arm_forward": _sided(
        lambda c, s: (
            c[f"{s}_hand_forward"] == "far forward"
            and c[f"{s}_hand_level"] in ("at chest height", "at shoulder height")
        )
    ),
    "hand_on_hip": _sided(lambda c, s: c[f"{s}_hand_near"] == "hip"),
    "hand_on_head": _sided(lambda c, s: c[f"{s}_hand_near"] == "head"),
    "hand_to_face": _sided(lambda c, s: c[f"{s}_hand_near"] == "face"),
    "hand_on_knee": _sided(lambda c, s: c[f"{s}_hand_near"] == "knee"),
    "hand_on_floor": _sided(lambda c, s: c[f"{s}_hand_on_ground"]),
    "knee_bent": _sided(
        lambda c, s: c["posture"] == "standing" and c[f"{s}_knee"] in ("bent", "fully bent")
    ),
    "knee_up": _sided(lambda c, s: c["posture"] in _UPRIGHT and c[f"{s}_knee_raised"]),
    "hands_together": _whole(lambda c: c["hands"] == "together"),
    "lean_forward": _whole(
        lambda c: c["posture"] in _UPRIGHT and c["trunk_lean"] == "leaning forward"
    ),
    "lean_back": _whole(lambda c: c["posture"] in _UPRIGHT and c["trunk_lean"] == "leaning back"),
    "lean_side": lambda c: [c["trunk_side"]] if c["trunk_side"] in SIDES else [],
    "head_down": _whole(
        lambda c: not c["posture"].startswith("lying") and c["head_pitch"] == "bowed"
    ),
    "head_up": _whole(
        lambda c: not c["posture"].startswith("lying") and c["head_pitch"] == "tilted back"
    ),
    "feet_wide": _whole(lambda c: c["posture"] == "standing" and c["feet"] == "wide apart"),
    "feet_together": _whole(lambda c: c["posture"] == "standing" and c["feet"] == "together"),
}
#: Pairs of clauses that say the same thing twice when both hold.
OVERLAPS = [{"arm_up", "one_arm_up"}]
#: Clauses too vague to make a request alone: said only beside a posture or another clause.
SECOND_ONLY = (
    "lean_forward",
    "lean_back",
    "lean_side",
    "head_down",
    "head_up",
    "feet_wide",
    "feet_together",
)


@dataclass(frozen=True)
class PartRequest:
    """One request for a pose, said three ways (see the module docstring)."""

    imp: str
    ger: str
    note: str
    #: What it names: (posture, its side) first where a posture is named, then (clause, side),
    #: the side "" for a clause of both sides or of the whole body (`satisfied` checks them).
    names: tuple[tuple[str, str], ...] = ()


@cache
def table() -> dict:
    """The phrases of `world/parts.yaml`, checked against `HOLDS`."""
    parts = yaml.safe_load(PARTS_FILE.read_text(encoding="utf-8"))
    if set(parts["clauses"]) != set(HOLDS):
        raise InvalidInputError(f"{PARTS_FILE}: clauses must be exactly {sorted(HOLDS)}")
    return parts


def part_request(codes: dict, rng: np.random.Generator) -> PartRequest | None:
    """A request naming the posture of a pose (its posecodes `codes`, unless standing) and one
    or two clauses that hold on it; None where no clause holds (or, standing, only a vague one:
    SECOND_ONLY)."""
    parts = table()
    said, names = [], []
    if codes["posture"] != "standing":
        said.append((parts["postures"][codes["posture"]], codes["posture_side"], ""))
        names = [(codes["posture"], codes["posture_side"])]
    held = [(name, sides) for name, holds in HOLDS.items() if (sides := holds(codes))]
    first = [k for k, (name, _) in enumerate(held) if said or name not in SECOND_ONLY]
    if not first:
        return None
    chosen = [first[int(rng.integers(len(first)))]]
    others = [
        k
        for k, (name, _) in enumerate(held)
        if k != chosen[0] and {name, held[chosen[0]][0]} not in OVERLAPS
    ]
    if others and rng.random() < 0.5:
        chosen.append(others[int(rng.integers(len(others)))])
    for k in chosen:
        name, sides = held[k]
        both = len(sides) == 2 and "both_imp" in parts["clauses"][name]
        side = "" if both else sides[int(rng.integers(len(sides)))]
        said.append((parts["clauses"][name], side, "both_" if both else ""))
        names.append((name, side))
    return _request(said, codes, rng, tuple(names))


def satisfied(codes: dict, names: tuple[tuple[str, str], ...]) -> bool:
    """Whether a pose (its posecodes `codes`) is what a request naming `names` asks for: the
    posture named (on its side, for a sided one) and every clause on its side."""
    postures = table()["postures"]
    for name, side in names:
        if name in postures:
            sided = any("{side}" in p for p in postures[name]["imp"])
            if codes["posture"] != name or (sided and codes["posture_side"] != side):
                return False
        elif not (
            side in HOLDS[name](codes) if side else HOLDS[name](codes) in ([""], list(SIDES))
        ):
            return False
    return True


def _request(
    said: list, codes: dict, rng: np.random.Generator, names: tuple[tuple[str, str], ...]
) -> PartRequest:
    """The request naming the `said` clauses: (phrases, side, "" or "both_") each."""
    phrases = {
        r: [
            pick(entry[prefix + r], rng).format(
                side=side, other=_other(side) if side in SIDES else ""
            )
            for entry, side, prefix in said
        ]
        for r in REGISTERS
    }
    posture_said = codes["posture"] != "standing"
    limbs = phrases["ger"][1:] if posture_said else phrases["ger"]
    ger = phrases["ger"][0] if posture_said else "standing"
    return PartRequest(
        imp=join_and(phrases["imp"]),
        ger=f"{ger} with {join_and(limbs)}" if limbs else ger,
        note=", ".join(phrases["note"]),
        names=names,
    )


def phrases(register: str) -> list[str]:
    """Every phrase of one register (sides filled in both ways): what a request's parts can be."""
    parts = table()
    entries = list(parts["postures"].values()) + list(parts["clauses"].values())
    keys = (register, f"both_{register}")
    return sorted(
        {
            p.format(side=s, other=_other(s))
            for e in entries
            for k in keys
            for p in e.get(k, ())
            for s in SIDES
        }
    )
