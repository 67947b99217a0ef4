"""The automatic pose captioner: posecodes -> varied, fluent English.

Every statement a caption makes comes from posecodes and is kept beside the text as a
`Claim` (the codes and values it states, its side and the words that state it), so a caption
can be checked against the joints it was made from (`verify_claims`). Sides are always the
SUBJECT's own left and right.

Saliency: a statement weighs more the further its codes are from the neutral standing pose
(`posegpt.body.posecodes.NEUTRAL`); captions of each detail level say the weightiest ones.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from posegpt.body.base import BodyModel
from posegpt.body.posecodes import (
    NEUTRAL,
    ORDERED,
    SIDES,
    posecodes,
    posecodes_batch,
    posture_phrase,
)
from posegpt.errors import InvalidInputError
from posegpt.synth.poses import UsesBody

DETAILS = ("short", "medium", "long")
#: Statements (besides the posture) said at each detail level: (fewest, most).
_STATEMENTS = {"short": (1, 1), "medium": (2, 3), "long": (4, 6)}

Rng = random.Random | np.random.Generator | int | None


@dataclass(frozen=True)
class Claim:
    """One statement of a caption: `codes` have `values`; `text` is the fragment that says
    it and `sides_named` the left/right words that fragment contains, in order."""

    codes: tuple[str, ...]
    values: tuple
    side: str  # "left", "right", "both" or "none"
    text: str
    sides_named: tuple[str, ...]


@dataclass
class Caption:
    """A caption's text, the claims it makes and its detail level."""

    text: str
    claims: list[Claim]
    detail: str


@dataclass(frozen=True)
class _Subject:
    name: str  # first mention: "the person"
    be: str  # with `name`
    pronoun: str  # later mentions
    pronoun_be: str
    pronoun_have: str
    poss: str


_NEUTRAL_SUBJECTS = (
    _Subject("the person", "is", "they", "are", "have", "their"),
    _Subject("this person", "is", "they", "are", "have", "their"),
    _Subject("the figure", "is", "they", "are", "have", "their"),
    _Subject("someone", "is", "they", "are", "have", "their"),
)
_GENDERED_SUBJECTS = (
    _Subject("the man", "is", "he", "is", "has", "his"),
    _Subject("the woman", "is", "she", "is", "has", "her"),
)

# -- phrase tables ----------------------------------------------------------------------
# Sided statements: kind -> (noun, plural noun), with per-value overrides.
_NOUNS = {
    "elbow": ("elbow", "elbows"),
    "knee": ("knee", "knees"),
    "hand_level": ("hand", "hands"),
    "hand_forward": ("arm", "arms"),
    "hand_out": ("arm", "arms"),
    "hand_near": ("hand", "hands"),
    "hand_on_ground": ("hand", "hands"),
    "knee_raised": ("knee", "knees"),
}
_NOUN_OVERRIDES = {("elbow", "straight"): ("arm", "arms"), ("knee", "straight"): ("leg", "legs")}
# (kind, value) -> participle phrases; "{s}" becomes "s" for both sides.
_PARTICIPLES: dict[tuple[str, object], tuple[str, ...]] = {
    ("elbow", "straight"): ("straight", "extended", "held straight"),
    ("elbow", "slightly bent"): ("slightly bent", "a little bent"),
    ("elbow", "bent"): ("bent", "flexed"),
    ("elbow", "fully bent"): ("fully bent", "sharply bent", "tightly flexed"),
    ("knee", "straight"): ("straight", "extended"),
    ("knee", "slightly bent"): ("slightly bent", "a little bent", "softly bent"),
    ("knee", "bent"): ("bent", "flexed"),
    ("knee", "fully bent"): ("fully bent", "deeply bent", "sharply bent"),
    ("hand_level", "down"): ("down by the side{s}", "lowered"),
    ("hand_level", "at waist height"): ("at waist height", "held at waist level"),
    ("hand_level", "at chest height"): ("at chest height", "held up at chest level"),
    ("hand_level", "at shoulder height"): ("at shoulder height", "raised to shoulder level"),
    ("hand_level", "at head height"): ("raised to head height", "up at head level"),
    ("hand_level", "above the head"): (
        "raised above the head",
        "lifted above the head",
        "held up over the head",
    ),
    ("hand_forward", "behind the body"): ("pulled back behind the body", "behind the body"),
    ("hand_forward", "in front"): ("held in front of the body", "in front of the body"),
    ("hand_forward", "far forward"): ("stretched far forward", "reaching forward"),
    ("hand_out", "across the body"): ("crossing in front of the body", "reaching across the body"),
    ("hand_out", "out to the side"): ("stretched out to the side{s}", "held out to the side{s}"),
    ("hand_near", "face"): ("touching the face", "held to the face"),
    ("hand_near", "ear"): ("held to the ear", "next to the ear"),
    ("hand_near", "head"): ("on the head", "touching the head"),
    ("hand_near", "chest"): ("held against the chest", "at the chest"),
    ("hand_near", "hip"): ("on the hip{s}", "resting on the hip{s}"),
    ("hand_near", "knee"): ("on the knee{s}", "resting on the knee{s}"),
    ("hand_near", "foot"): ("down at the feet", "reaching the feet"),
    ("hand_on_ground", True): ("on the floor", "resting on the ground", "planted on the floor"),
    ("knee_raised", True): ("raised above hip level", "drawn up high"),
}
# Side-less statements: kind -> (noun, plural?), value -> participles.
_WHOLE = {
    "hands": ("the hands", True),
    "feet": ("the feet", True),
    "trunk_lean": ("the upper body", False),
    "trunk_side": ("the torso", False),
    "trunk_twist": ("the upper body", False),
    "head_pitch": ("the head", False),
    "head_tilt": ("the head", False),
    "head_turn": ("the head", False),
}
_WHOLE_PARTICIPLES: dict[tuple[str, str], tuple[str, ...]] = {
    ("hands", "together"): ("together", "joined together", "touching each other"),
    ("hands", "close"): ("close together", "near each other"),
    ("hands", "wide apart"): ("wide apart", "far apart"),
    ("feet", "together"): ("together", "close together"),
    ("feet", "wide apart"): ("wide apart", "spread wide"),
    ("trunk_lean", "leaning forward"): ("leaning forward", "tilted forward"),
    ("trunk_lean", "bent forward"): ("bent forward", "folded forward"),
    ("trunk_lean", "leaning back"): ("leaning back", "tilted backward"),
    ("trunk_side", "left"): ("leaning to the left", "bending sideways to the left"),
    ("trunk_side", "right"): ("leaning to the right", "bending sideways to the right"),
    ("trunk_twist", "left"): ("turned to the left", "twisted toward the left"),
    ("trunk_twist", "right"): ("turned to the right", "twisted toward the right"),
    ("head_pitch", "bowed"): ("bowed", "tilted down"),
    ("head_pitch", "tilted back"): ("tilted back", "tipped back to look up"),
    ("head_tilt", "left"): ("tilted to the left", "leaning to the left"),
    ("head_tilt", "right"): ("tilted to the right", "leaning to the right"),
    ("head_turn", "left"): ("turned to the left", "turned toward the left"),
    ("head_turn", "right"): ("turned to the right", "turned toward the right"),
    ("hands", "apart"): ("apart", "held apart"),
    ("feet", "apart"): ("apart", "slightly apart"),
    ("trunk_lean", "upright"): ("upright", "held straight"),
    ("head_pitch", "level"): ("level", "held level"),
}
#: Neutral statements that fill out longer captions of quiet poses, in order.
_QUIET = (("hand_level", "down"), ("knee", "straight"), ("feet", "apart"), ("elbow", "straight"))
_POSTURE_VARIANTS = {
    "standing": ("standing", "standing upright"),
    "squatting": ("squatting", "in a deep squat"),
    "sitting on the floor": ("sitting on the floor", "seated on the ground"),
    "bending forward": ("bending forward", "bent over at the waist"),
    "on all fours": ("on all fours", "on hands and knees"),
}

#: Postures that already say how the trunk leans (lying ones too).
_LEAN_IMPLIED = ("bending forward", "propped up face down", "upside down")

#: Weight of a step away from neutral, per code kind.
_WEIGHTS = {
    "posture": 10.0,
    "elbow": 1.5,
    "knee": 2.5,
    "hand_level": 3.0,
    "hand_forward": 2.5,
    "hand_out": 3.0,
    "hand_near": 7.0,
    "hand_on_ground": 6.0,
    "knee_raised": 3.5,
    "hands": 2.5,
    "feet": 2.5,
    "front_foot": 3.0,
    "trunk_lean": 4.0,
    "trunk_side": 5.0,
    "trunk_twist": 4.0,
    "head_pitch": 3.0,
    "head_tilt": 2.0,
    "head_turn": 3.0,
}
# Knee bends that go without saying in a posture.
_KNEES_EXPECTED = {
    "sitting": ("bent",),
    "squatting": ("bent", "fully bent"),
    "kneeling": ("bent", "fully bent"),
    "kneeling on one knee": ("bent",),
    "on all fours": ("bent",),
}
_HEAD = ("head_pitch", "head_tilt", "head_turn")


@dataclass(frozen=True)
class Statement:
    """Something a caption may say: a code kind, the side(s) it holds on, its value."""

    kind: str
    side: str  # "left", "right", "both", "none"
    value: object
    saliency: float


def _distance(kind: str, value: object) -> float:
    neutral = NEUTRAL[kind]
    if kind in ORDERED:
        order = ORDERED[kind]
        return float(abs(order.index(value) - order.index(neutral)))
    return float(value != neutral)


def _codes_of(kind: str, side: str) -> tuple[str, ...]:
    if side == "both":
        return tuple(f"{s}_{kind}" for s in SIDES)
    if side in SIDES:
        return (f"{side}_{kind}",)
    return (kind,)


def statements(codes: dict) -> list[Statement]:
    """The non-neutral statements a pose supports, most salient first (ties broken without
    regard to side, so a mirrored pose gives the mirrored list)."""
    out: list[Statement] = []
    hidden = set()  # (kind, side) said better by another statement
    for side in SIDES:
        if codes[f"{side}_hand_on_ground"]:
            hidden |= {(k, side) for k in ("hand_level", "hand_near", "hand_forward", "hand_out")}
        elif codes[f"{side}_hand_near"] != "nothing":
            hidden |= {(k, side) for k in ("hand_level", "hand_forward", "hand_out")}
    posture = codes["posture"]
    for side in SIDES:
        if posture.startswith("lying"):
            hidden.add(("hand_on_ground", side))
        if posture == "upside down":  # its knees are above its hips without being raised
            hidden.add(("knee_raised", side))
        if codes[f"{side}_knee"] in _KNEES_EXPECTED.get(posture, ()):
            hidden.add(("knee", side))
    for kind in _NOUNS:
        values = {s: codes[f"{s}_{kind}"] for s in SIDES}
        weight = _WEIGHTS[kind]
        shown = {s: v for s, v in values.items() if (kind, s) not in hidden}
        salient = {s: v for s, v in shown.items() if _distance(kind, v) > 0}
        if len(salient) == 2 and salient["left"] == salient["right"]:
            score = 1.2 * weight * _distance(kind, values["left"])
            out.append(Statement(kind, "both", values["left"], score))
            continue
        for s, v in salient.items():
            out.append(Statement(kind, s, v, weight * _distance(kind, v)))
    for kind in _WHOLE:
        value = codes.get(kind, "unknown")
        if value in ("unknown", NEUTRAL[kind]) or (kind, value) not in _WHOLE_PARTICIPLES:
            continue
        if kind == "trunk_lean" and (posture in _LEAN_IMPLIED or posture.startswith("lying")):
            continue  # the posture says how the trunk lies
        if kind == "hands" and {codes["left_hand_near"], codes["right_hand_near"]} != {"nothing"}:
            continue
        out.append(Statement(kind, "none", value, _WEIGHTS[kind] * _distance(kind, value)))
    if codes["front_foot"] != "none" and not posture.startswith("lying"):
        out.append(Statement("front_foot", codes["front_foot"], codes["front_foot"], 3.0))
    out.sort(key=lambda s: (-s.saliency, s.kind, str(s.value)))
    return out


class _Writer:
    """Builds one caption: sentences and the claims they make."""

    def __init__(self, codes: dict, rng: random.Random, subject: _Subject):
        self.codes, self.rng, self.subject = codes, rng, subject
        self.sentences: list[str] = []
        self.claims: list[Claim] = []

    def pick(self, options):
        return options[self.rng.randrange(len(options))]

    def claim(self, kind: str, side: str, value, text: str) -> str:
        codes = _codes_of(kind, side if kind != "front_foot" else "none")
        if kind == "posture":
            codes, values = ("posture", "posture_side"), (value, self.codes["posture_side"])
        else:
            values = (value,) * len(codes)
        named = tuple(re.findall(r"\b(left|right)\b", text))
        self.claims.append(Claim(codes, values, side, text, named))
        return text

    def noun(self, st: Statement, owner: str) -> tuple[str, bool]:
        """Noun phrase for a statement's body part; owner is "the" or a possessive."""
        if st.kind in _WHOLE:
            noun, plural = _WHOLE[st.kind]
            return noun, plural
        if st.kind == "front_foot":
            return f"{owner} {st.side} foot", False
        single, plural = _NOUN_OVERRIDES.get((st.kind, st.value), _NOUNS[st.kind])
        if st.side == "both":
            return (f"both {plural}" if owner == "the" else f"both of {owner} {plural}"), True
        return f"{owner} {st.side} {single}", False

    def participle(self, st: Statement, plural: bool) -> str:
        if st.kind == "front_foot":
            other = "right" if st.side == "left" else "left"
            return self.pick((f"in front of the {other} one", f"placed ahead of the {other} foot"))
        table = _WHOLE_PARTICIPLES if st.kind in _WHOLE else _PARTICIPLES
        return self.pick(table[(st.kind, st.value)]).replace("{s}", "s" if plural else "")

    def clause(self, st: Statement) -> str:
        """`the left knee is bent`."""
        noun, plural = self.noun(st, "the")
        text = f"{noun} {'are' if plural else 'is'} {self.participle(st, plural)}"
        return self.claim(st.kind, st.side, st.value, text)

    def with_phrase(self, st: Statement) -> str:
        """`both hands raised above the head` (after "with" or "has")."""
        noun, plural = self.noun(st, self.pick(("the", self.subject.poss)))
        return self.claim(st.kind, st.side, st.value, f"{noun} {self.participle(st, plural)}")

    def posture(self, with_items: list[Statement]) -> None:
        s, codes = self.subject, self.codes
        variants = _POSTURE_VARIANTS.get(codes["posture"], (None,))
        if codes["trunk_lean"] != "upright":
            variants = variants[:1]  # not "standing upright" while leaning
        phrase = self.pick(variants)
        if phrase is None:
            phrase = posture_phrase(codes, self.pick(("the", s.poss)))
        phrase = self.claim("posture", codes["posture_side"], codes["posture"], phrase)
        lead = f"{s.name} {s.be} {phrase}"
        if with_items:
            parts = [self.with_phrase(st) for st in with_items]
            lead += self.pick((", with ", " with ")) + " and ".join(parts)
        self.sentences.append(lead)

    def body_sentence(self, items: list[Statement]) -> None:
        s = self.subject
        if len(items) == 2 and items[0].kind in _HEAD and items[1].kind in _HEAD:
            second = self.participle(items[1], False)
            second = self.claim(items[1].kind, items[1].side, items[1].value, second)
            self.sentences.append(f"{self.clause(items[0])} and {second}")
            return
        if len(items) == 1 and items[0].kind not in _WHOLE and self.rng.random() < 0.35:
            pron = self.pick((s.pronoun, s.name))
            have = s.pronoun_have if pron == s.pronoun else "has"
            self.sentences.append(f"{pron} {have} {self.with_phrase(items[0])}")
            return
        clauses = [self.clause(st) for st in items]
        joiner = self.pick((", and ", ", while ", "; ")) if len(clauses) > 1 else ""
        self.sentences.append(joiner.join(clauses))

    def text(self) -> str:
        return " ".join(_capitalize(sentence) + "." for sentence in self.sentences)


def _capitalize(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


def _rng(rng: Rng) -> random.Random:
    """A `random.Random` from a seed, a Random (used as is) or a numpy Generator (drawn from)."""
    if isinstance(rng, random.Random):
        return rng
    if isinstance(rng, np.random.Generator):
        return random.Random(int(rng.integers(2**63)))
    return random.Random(rng)


def caption_with_claims(
    codes: dict, detail: str = "medium", rng: Rng = None, gendered: bool = False
) -> Caption:
    """A caption of one pose's posecodes at `detail` ("short", "medium", "long"), with the
    claims it makes. `gendered` lets the subject be "the man" / "the woman"."""
    if detail not in DETAILS:
        raise InvalidInputError(f"detail must be one of {', '.join(DETAILS)}, got {detail!r}")
    rng = _rng(rng)
    subjects = _NEUTRAL_SUBJECTS + (_GENDERED_SUBJECTS if gendered else ())
    writer = _Writer(codes, rng, subjects[rng.randrange(len(subjects))])
    lo, hi = _STATEMENTS[detail]
    count = rng.randint(lo, hi)
    items = _head_together(statements(codes)[:count])
    if detail != "short":
        items += _quiet(codes, count - len(items))
    if detail == "short" or not items:
        writer.posture(items[:1])
    else:
        n_with = 1 if len(items) > 1 and rng.random() < 0.6 else 0
        writer.posture(items[:n_with])
        rest = items[n_with:]
        while rest:
            take = 2 if len(rest) > 1 and rng.random() < 0.5 else 1
            writer.body_sentence(rest[:take])
            rest = rest[take:]
    return Caption(writer.text(), writer.claims, detail)


def _quiet(codes: dict, n: int) -> list[Statement]:
    """Up to `n` true statements of neutral values (arms down, legs straight...)."""
    out = []
    busy_hands = any(
        codes[f"{s}_hand_on_ground"] or codes[f"{s}_hand_near"] != "nothing" for s in SIDES
    )
    for kind, value in _QUIET:
        if kind == "hand_level" and busy_hands:
            continue
        if kind in _NOUNS and all(codes[f"{s}_{kind}"] == value for s in SIDES):
            out.append(Statement(kind, "both", value, 0.0))
        elif kind in _WHOLE and codes[kind] == value:
            out.append(Statement(kind, "none", value, 0.0))
    return out[: max(n, 0)]


def _head_together(items: list[Statement]) -> list[Statement]:
    """Move the head statements next to the first one, so that they share a sentence."""
    head = [st for st in items if st.kind in _HEAD]
    if not head:
        return items
    first = items.index(head[0])
    rest = [st for st in items if st.kind not in _HEAD]
    return rest[:first] + head + rest[first:]


def verify_claims(
    joints: torch.Tensor, captions: Caption | list[Caption], nose: torch.Tensor | None = None
) -> list[str]:
    """The ways captions disagree with the pose whose (24, 3) `joints` they describe: a
    claimed value that the posecodes recomputed from the joints do not hold, a fragment
    missing from the text, or left/right words that do not match the claim. Empty when
    every caption is right."""
    codes = posecodes(joints, nose)
    problems = []
    for caption in [captions] if isinstance(captions, Caption) else captions:
        problems += _disagreements(codes, caption)
    return problems


def _disagreements(codes: dict, caption: Caption) -> list[str]:
    problems = []
    text = caption.text.lower()
    for claim in caption.claims:
        for code, value in zip(claim.codes, claim.values, strict=True):
            if codes.get(code) != value:
                problems.append(f"{code}: claimed {value!r}, pose has {codes.get(code)!r}")
        if claim.text.lower() not in text:
            problems.append(f"fragment {claim.text!r} is not in the caption")
        expected = _expected_sides(claim)
        if claim.sides_named != expected:
            problems.append(f"{claim.text!r} names {claim.sides_named}, expected {expected}")
    return problems


def _expected_sides(claim: Claim) -> tuple[str, ...]:
    """The left/right words a claim's fragment must contain, from its codes and values."""
    if claim.codes == ("front_foot",):
        front = claim.values[0]
        return (front, "right" if front == "left" else "left")
    if claim.codes == ("posture", "posture_side"):
        side = claim.values[1]
        return (side,) if side in SIDES and claim.values[0] not in _POSTURE_VARIANTS else ()
    if len(claim.codes) == 1 and claim.codes[0].startswith(SIDES):
        return (claim.codes[0].split("_", 1)[0],)
    if len(claim.codes) == 1 and claim.values[0] in SIDES:
        return (claim.values[0],)
    return ()


class PoseCaptioner(UsesBody):
    """Captions poses: rotations -> body joints -> posecodes -> sentences."""

    def __init__(self, body: BodyModel | None = None, gendered: bool = False) -> None:
        self._body = body
        self.gendered = gendered

    def _joints(self, rotmat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            out = self.body(rotmat)
        return out.joints, out.keypoints3d[:, 0]

    def captions(self, rotmat: torch.Tensor, n: int = 3, rng: Rng | Sequence[Rng] = None):
        """`n` captions of a pose (24, 3, 3), cycling short, medium, long: a list of str;
        for a batch (B, 24, 3, 3), one such list per pose. `rng`: one for all, or a list with
        one per pose (each pose's captions then depend on its own alone)."""
        single = rotmat.ndim == 3
        joints, nose = self._joints(rotmat[None] if single else rotmat)
        out = self.captions_from_joints(joints, n, rng, nose)
        return out[0] if single else out

    def caption(self, rotmat: torch.Tensor, detail: str = "medium", rng: Rng = None) -> str:
        """One caption of a pose (24, 3, 3) at `detail`."""
        joints, nose = self._joints(rotmat[None])
        codes = posecodes_batch(joints, nose)[0]
        return caption_with_claims(codes, detail, rng, self.gendered).text

    def captions_from_joints(
        self,
        joints: torch.Tensor,
        n: int = 3,
        rng: Rng | Sequence[Rng] = None,
        nose: torch.Tensor | None = None,
    ):
        """Like `captions`, from joints (24, 3) or (B, 24, 3) (no body forward)."""
        if not 1 <= n <= 100:
            raise InvalidInputError(f"n must be between 1 and 100, got {n}")
        single = joints.ndim == 2
        batch = posecodes_batch(joints, nose)
        if isinstance(rng, (list, tuple)):
            if len(rng) != len(batch):
                raise InvalidInputError(f"rng: one per pose ({len(batch)}), got {len(rng)}")
            rngs = [_rng(r) for r in rng]
        else:
            rngs = [_rng(rng)] * len(batch)
        out = [
            [caption_with_claims(c, DETAILS[i % 3], r, self.gendered).text for i in range(n)]
            for c, r in zip(batch, rngs, strict=True)
        ]
        return out[0] if single else out
