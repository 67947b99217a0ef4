"""Geometric predicates on a pose's joints: "left_wrist above head", "knees bent > 60".

The everyday benchmark (`posegpt/eval/everyday/requests.jsonl`) scores an answer's pose by such
sentences; their grammar is in `posegpt/eval/everyday/README.md`. Joints are (24, 3) in metres,
y up (any turn about the vertical); left and right are the body's own. `parse` turns a sentence
into a `Predicate`, raising InvalidInputError on anything outside the grammar.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import torch

from posegpt.body.posecodes import POSTURES, posecodes
from posegpt.body.skeleton import JOINT_INDEX, SIDES
from posegpt.errors import InvalidInputError

#: Plural terms: both sides must satisfy the predicate.
PLURALS = {
    "wrists": "wrist",
    "elbows": "elbow",
    "knees": "knee",
    "ankles": "ankle",
    "hips": "hip",
    "shoulders": "shoulder",
    "feet": "foot",
    "hands": "hand",
    "collars": "collar",
}
#: Default margins (metres) of the relations.
DEFAULT_MARGIN = {
    "above": 0.05,
    "below": 0.05,
    "in front of": 0.05,
    "behind": 0.05,
    "left of": 0.05,
    "right of": 0.05,
    "near": 0.25,
    "far from": 0.6,
}
BENDABLE = ("knee", "elbow", "hip")
UPRIGHT_DEG, HORIZONTAL_DEG, INVERTED_DEG = 30.0, 60.0, 120.0
FACING = 0.5

_NUM = r"(-?\d+(?:\.\d+)?)"
_TERM = r"([a-z_]+)"
_RELATION = re.compile(
    rf"^{_TERM} (above|below|in front of|behind|left of|right of|near|far from) {_TERM}"
    rf"(?: (by|within) {_NUM})?$"
)
_BENT = re.compile(rf"^{_TERM} bent ([<>]) {_NUM}$")
_HEIGHT = re.compile(rf"^{_TERM} height ([<>]) {_NUM}$")
_TORSO = re.compile(r"^torso (upright|horizontal|inverted)$")
_LEAN = re.compile(rf"^torso leans (forward|back|left|right) > {_NUM}$")
_FACING = re.compile(r"^facing (up|down|sideways)$")
_RAISED = re.compile(rf"^one (ankle|wrist|knee|elbow|foot|hand) raised by {_NUM}$")
_POSTURE = re.compile(r"^posture is ([a-z ]+)$")

Joints = torch.Tensor


@dataclass(frozen=True)
class Term:
    """Joint indices and how they combine: "all" (a plural) or "any" (`either_...`)."""

    joints: tuple[int, ...]
    quantifier: str = "all"

    @property
    def base(self) -> str:
        """The joint kind without its side ("knee" for left_knee, knees, either_knee)."""
        names = [n for n, i in JOINT_INDEX.items() if i == self.joints[0]]
        return names[0].removeprefix("left_").removeprefix("right_")

    def holds(self, test: Callable[[int], bool]) -> bool:
        results = (test(j) for j in self.joints)
        return all(results) if self.quantifier == "all" else any(results)


@dataclass(frozen=True)
class Predicate:
    """A parsed predicate: `text` as written, `test(joints) -> bool`."""

    text: str
    test: Callable[[Joints], bool]

    def __call__(self, joints: Joints) -> bool:
        if joints.shape != (24, 3):
            raise InvalidInputError(f"joints must be (24, 3), got {tuple(joints.shape)}")
        return bool(self.test(joints.double()))


def term(word: str) -> Term:
    """A joint name, a plural ("wrists": both) or `either_<joint>` (one side is enough)."""
    if word in JOINT_INDEX:
        return Term((JOINT_INDEX[word],))
    if word in PLURALS:
        return Term(tuple(JOINT_INDEX[f"{s}_{PLURALS[word]}"] for s in SIDES))
    base = word.removeprefix("either_")
    if base != word and f"left_{base}" in JOINT_INDEX:
        return Term(tuple(JOINT_INDEX[f"{s}_{base}"] for s in SIDES), "any")
    raise InvalidInputError(f"unknown body part {word!r} in a predicate")


def parse(text: str) -> Predicate:
    """The predicate a sentence of the grammar states."""
    sentence = " ".join(text.strip().split())
    for pattern, build in _RULES:
        match = pattern.match(sentence)
        if match:
            return Predicate(sentence, build(*match.groups()))
    raise InvalidInputError(f"not a predicate: {text!r}")


def _relation(a: str, relation: str, b: str, keyword: str | None, value: str | None):
    if keyword is not None and (keyword == "within") != (relation == "near"):
        raise InvalidInputError(f"'{relation}' takes {'within' if relation == 'near' else 'by'}")
    left, right = term(a), term(b)
    margin = float(value) if value is not None else DEFAULT_MARGIN[relation]

    def test(joints: Joints) -> bool:
        frame = _Frame(joints)

        def pair(i: int, j: int) -> bool:
            d = joints[i] - joints[j]
            if relation == "near":
                return float(d.norm()) < margin
            if relation == "far from":
                return float(d.norm()) > margin
            axis = {"above": frame.up, "in front of": frame.forward, "left of": frame.left}
            flip = {"below": "above", "behind": "in front of", "right of": "left of"}
            sign = 1.0 if relation in axis else -1.0
            return sign * float(d @ axis[flip.get(relation, relation)]) > margin

        return left.holds(lambda i: right.holds(lambda j: pair(i, j)))

    return test


def _bent(a: str, op: str, value: str):
    joints_of = term(a)
    if joints_of.base not in BENDABLE:
        raise InvalidInputError(f"'bent' applies to {', '.join(BENDABLE)}, not {a!r}")
    limit = float(value)

    def test(joints: Joints) -> bool:
        return joints_of.holds(lambda j: _compare(flexion(joints, j), op, limit))

    return test


def _height(a: str, op: str, value: str):
    joints_of, limit = term(a), float(value)

    def test(joints: Joints) -> bool:
        ground = float(joints[:, 1].min())
        return joints_of.holds(lambda j: _compare(float(joints[j, 1]) - ground, op, limit))

    return test


def _torso(state: str):
    def test(joints: Joints) -> bool:
        angle = _angle(_Frame(joints).torso, torch.tensor([0.0, 1.0, 0.0], dtype=joints.dtype))
        if state == "upright":
            return angle < UPRIGHT_DEG
        if state == "horizontal":
            return HORIZONTAL_DEG <= angle <= INVERTED_DEG
        return angle > INVERTED_DEG

    return test


def _lean(direction: str, value: str):
    limit = float(value)

    def test(joints: Joints) -> bool:
        frame = _Frame(joints)
        axis = frame.forward if direction in ("forward", "back") else frame.left
        sign = 1.0 if direction in ("forward", "left") else -1.0
        along, up = sign * float(frame.torso @ axis), float(frame.torso @ frame.up)
        return math.degrees(math.atan2(along, up)) > limit

    return test


def _facing(direction: str):
    def test(joints: Joints) -> bool:
        vertical = float(_Frame(joints).chest_normal[1])
        if direction == "up":
            return vertical > FACING
        if direction == "down":
            return vertical < -FACING
        return abs(vertical) <= FACING

    return test


def _raised(part: str, value: str):
    left, right = JOINT_INDEX[f"left_{part}"], JOINT_INDEX[f"right_{part}"]
    margin = float(value)

    def test(joints: Joints) -> bool:
        return abs(float(joints[left, 1] - joints[right, 1])) > margin

    return test


def _posture(name: str):
    if name not in POSTURES:
        raise InvalidInputError(f"unknown posture {name!r}; known: {', '.join(POSTURES)}")

    def test(joints: Joints) -> bool:
        return posecodes(joints.float())["posture"] == name

    return test


_RULES: tuple[tuple[re.Pattern, Callable[..., Callable[[Joints], bool]]], ...] = (
    (_RELATION, _relation),
    (_BENT, _bent),
    (_HEIGHT, _height),
    (_TORSO, _torso),
    (_LEAN, _lean),
    (_FACING, _facing),
    (_RAISED, _raised),
    (_POSTURE, _posture),
)


class _Frame:
    """Directions of a posed body: world up, the hips' left and facing direction on the ground,
    the torso (pelvis -> neck) and the chest's normal."""

    def __init__(self, joints: Joints) -> None:
        j = JOINT_INDEX
        self.up = torch.tensor([0.0, 1.0, 0.0], dtype=joints.dtype)
        hips = joints[j["left_hip"]] - joints[j["right_hip"]]
        self.torso = _unit(joints[j["neck"]] - joints[j["pelvis"]])
        self.chest_normal = _unit(torch.linalg.cross(hips, self.torso))
        flat = hips - (hips @ self.up) * self.up
        if float(flat.norm()) < 1e-3:  # hips one above the other (lying on the side)
            flat = self.chest_normal - (self.chest_normal @ self.up) * self.up
            flat = torch.linalg.cross(self.up, flat)
        self.left = _unit(flat)
        self.forward = _unit(torch.linalg.cross(self.left, self.up))


def flexion(joints: Joints, joint: int) -> float:
    """Degrees a knee, elbow or hip is bent (0: straight)."""
    name = [n for n, i in JOINT_INDEX.items() if i == joint][0]
    side, base = name.split("_", 1)
    j = JOINT_INDEX
    if base == "knee":
        a, b = joints[joint] - joints[j[f"{side}_hip"]], joints[j[f"{side}_ankle"]] - joints[joint]
    elif base == "elbow":
        a = joints[joint] - joints[j[f"{side}_shoulder"]]
        b = joints[j[f"{side}_wrist"]] - joints[joint]
    else:  # hip: the thigh against the line pelvis -> neck, continued downwards
        a = joints[j["pelvis"]] - joints[j["neck"]]
        b = joints[j[f"{side}_knee"]] - joints[joint]
    return _angle(a, b)


def _angle(a: torch.Tensor, b: torch.Tensor) -> float:
    cos = float(_unit(a) @ _unit(b))
    return math.degrees(math.acos(max(-1.0, min(1.0, cos))))


def _unit(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm().clamp(min=1e-9)


def _compare(value: float, op: str, limit: float) -> bool:
    return value > limit if op == ">" else value < limit
