"""Everyday conversations: pose requests in people's own words, several poses in one reply, and
questions that want words only.

Everything said comes from the data tables `world/requests.yaml` (request forms, imperatives of
the hand-written families, contexts, replies, multi-pose wordings) and `world/talk.yaml`
(greetings, questions about posegpt and the body, off-topic, arithmetic in digits and words,
questions about poses that do not ask for one, questions about exercise and posture); the
table families (`world/families.yaml`) carry their own imperatives. Replies name what each pose
shows (the family's phrase, with its side) before its `<POSE>`, in the order asked. Left and
right are the body's own: a pose of the left-side variant of a family is asked for with "your
left ...". A "parts" request names the pose's posture and body parts instead of its family
("sit down and put your left hand on your knee"; `posegpt.synth.part_requests`).

Kinds (`EVERYDAY_KINDS`): "everyday" (one pose), "multi" (2-4 poses: a sequence, or several
ways of a kind of pose) and "talk" (no pose).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch
import yaml

from posegpt.body.posecodes import posecodes
from posegpt.data.templates import NUMBER_WORDS
from posegpt.errors import InvalidInputError
from posegpt.records import POSE_TOKEN, Conversation, Message
from posegpt.synth.part_requests import PartRequest, part_request
from posegpt.synth.pose_families import FAMILY_INFO, SIDES, WORLD
from posegpt.synth.third_person import third_person
from posegpt.synth.world import WORLD_DIR

REQUESTS_FILE = WORLD_DIR / "requests.yaml"
TALK_FILE = WORLD_DIR / "talk.yaml"
WORDS_FILE = WORLD_DIR / "words.yaml"
#: Kinds of words in `words.yaml`, the fields of talk.yaml's `everyday_things` questions
#: ("{thing}", or "{a_thing}" with its article).
WORD_KINDS = ("thing", "food", "animal", "plant", "nature", "city")
_FIELD = re.compile(r"\{(\w+)\}")
EVERYDAY_KINDS = ("everyday", "multi", "talk")
#: Request forms and how often each is drawn ("misspelled" and "british" reword another form;
#: "parts" names body parts in one of PART_FORMS).
FORM_WEIGHTS = {
    "imperative": 0.16,
    "second_person": 0.12,
    "third_person": 0.15,
    "question": 0.1,
    "terse": 0.08,
    "casual": 0.08,
    "polite": 0.07,
    "embedded": 0.09,
    "caption": 0.07,
    "misspelled": 0.08,
    "british": 0.03,
    "parts": 0.3,
}
ORDINALS = ("First", "Second", "Third", "Fourth")
NUMBERS = NUMBER_WORDS[1 : len(ORDINALS) + 1]
#: The forms a request naming body parts ("parts") is worded in.
PART_FORMS = (
    "imperative", "second_person", "third_person", "question", "terse", "casual", "polite",
    "embedded",
)  # fmt: skip
#: Share of the steps of a sequence request that name body parts instead of the family.
PART_STEP_RATE = 0.3
#: Share of misspelled words in a misspelled request.
TYPO_RATE = 0.3
#: Share of sequence requests (several poses) written with typos.
MULTI_TYPO_RATE = 0.06


@dataclass(frozen=True)
class Posed:
    """A pose to ask for: its rotations, family, side (None for symmetric families) and,
    where known, a description of it and its joints (for requests that name body parts)."""

    rotmat: torch.Tensor
    family: str
    side: str | None = None
    caption: str | None = None
    joints: torch.Tensor | None = None

    @property
    def ger(self) -> str:
        """The family's phrase, naming the side."""
        return FAMILY_INFO[self.family].describe(self.side)


@cache
def tables() -> tuple[dict, dict]:
    """The request and talk tables, checked."""
    requests = yaml.safe_load(REQUESTS_FILE.read_text(encoding="utf-8"))
    talk = yaml.safe_load(TALK_FILE.read_text(encoding="utf-8"))
    missing = [f for f in FAMILY_INFO if not imperatives(f, requests)]
    if missing:
        raise InvalidInputError(f"{REQUESTS_FILE}: no imperative for {', '.join(missing)}")
    unknown = set(FORM_WEIGHTS) - set(requests["forms"]) - {"misspelled", "british", "parts"}
    if unknown:
        raise InvalidInputError(f"{REQUESTS_FILE}: no wordings for forms {sorted(unknown)}")
    for question in talk["everyday_things"]:
        fields = _FIELD.findall(question)
        if len(fields) > 1 or {f.removeprefix("a_") for f in fields} - set(WORD_KINDS):
            raise InvalidInputError(f"{TALK_FILE}: {question!r} needs one field of {WORD_KINDS}")
    return requests, talk


@cache
def words() -> dict[str, tuple[str, ...]]:
    """The `everyday_things` questions' field values per kind (`words.yaml`), checked."""
    table = yaml.safe_load(WORDS_FILE.read_text(encoding="utf-8"))
    for kind in WORD_KINDS:
        values = table.get(kind) if isinstance(table, dict) else None
        if not values or not all(isinstance(v, str) and v.strip() for v in values):
            raise InvalidInputError(f"{WORDS_FILE}: '{kind}' must be a list of words")
    return {kind: tuple(table[kind]) for kind in WORD_KINDS}


def with_article(word: str) -> str:
    """'an apple', 'a house'."""
    return f"{'an' if word[0].lower() in 'aeiou' else 'a'} {word}"


def things_questions(template: str) -> list[str]:
    """Every question an `everyday_things` template words, its field taking each value."""
    names = _FIELD.findall(template)
    if not names:
        return [template]
    name = names[0]
    values = words()[name.removeprefix("a_")]
    return [
        template.replace(f"{{{name}}}", with_article(v) if name.startswith("a_") else v)
        for v in values
    ]


def imperatives(family: str, requests: dict | None = None) -> tuple[str, ...]:
    """Everyday imperatives of a family ("{side}" where it has a side)."""
    requests = requests if requests is not None else tables()[0]
    return tuple(WORLD.imperatives.get(family, ())) or tuple(
        requests["imperatives"].get(family, ())
    )


def _pick(items: Sequence, rng: np.random.Generator):
    return items[int(rng.integers(len(items)))]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _imperative(posed: Posed, rng: np.random.Generator) -> str:
    return _pick(imperatives(posed.family), rng).format(side=posed.side or _pick(SIDES, rng))


def _part_request(posed: Posed, rng: np.random.Generator) -> PartRequest | None:
    """A request naming `posed`'s posture and body parts; None where its joints are unknown
    or nothing clear holds on it."""
    return None if posed.joints is None else part_request(posecodes(posed.joints), rng)


def _said(posed: Posed, rng: np.random.Generator) -> tuple[str, str]:
    """One step of a sequence, as an imperative and a phrase: the family's, or (PART_STEP_RATE
    of the steps, where its joints are known) its posture and body parts."""
    if posed.joints is not None and rng.random() < PART_STEP_RATE:
        parts = _part_request(posed, rng)
        if parts is not None:
            return parts.imp, parts.ger
    return _imperative(posed, rng), posed.ger


def request_text(posed: Posed, rng: np.random.Generator, form: str | None = None) -> str:
    """A request for `posed` in one of the forms (drawn by FORM_WEIGHTS unless given)."""
    requests, _ = tables()
    if form is None:
        names = list(FORM_WEIGHTS)
        weights = np.array([FORM_WEIGHTS[n] for n in names])
        form = names[int(rng.choice(len(names), p=weights / weights.sum()))]
    if form in ("misspelled", "british"):
        base = request_text(
            posed, rng, _pick(("imperative", "third_person", "question", "casual", "parts"), rng)
        )
        return misspell(base, rng) if form == "misspelled" else britishise(base)
    if form == "caption" and not posed.caption:
        form = "third_person"
    parts = None
    if form == "parts":
        parts = _part_request(posed, rng)
        form = _pick(PART_FORMS, rng)
        if parts is not None and form == "terse" and rng.random() < 0.5:
            return _pick(requests["part_notes"], rng).format(note=parts.note)
    who, poss = _pick(requests["subjects"], rng)
    imp = parts.imp if parts else _imperative(posed, rng)
    does = third_person(imp, poss)
    fields = {
        "imp": imp,
        "Imp": _cap(imp),
        "ger": parts.ger if parts else posed.ger,
        "who": who,
        "Who": _cap(who),
        "poss": poss,
        "does": does,
        "caption": posed.caption or "",
        "context": _pick(requests["contexts"], rng),
    }
    return _pick(_wordable(requests["forms"][form], does is not None), rng).format(**fields)


def _says_what_someone_does(template: str) -> bool:
    """Whether `template` holds an imperative said of someone ("{does}", "{does1}"...)."""
    return "{does" in template


def _wordable(templates: Sequence[str], with_verbs: bool) -> list[str]:
    """`templates`, less those that say what someone does when that cannot be said."""
    return [t for t in templates if with_verbs or not _says_what_someone_does(t)]


def misspell(text: str, rng: np.random.Generator) -> str:
    """`text` in lower case with typos: letters swapped, dropped or doubled in some words."""

    def typo(match: re.Match) -> str:
        word = match.group(0)
        if len(word) < 4 or rng.random() > TYPO_RATE:
            return word
        kind = int(rng.integers(3))
        if kind == 1:  # a dropped letter, the last one too ("lyin", "sho")
            i = int(rng.integers(1, len(word)))
            return word[:i] + word[i + 1 :]
        i = int(rng.integers(1, len(word) - 1))
        if kind == 0:
            return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        return word[:i] + word[i] + word[i:]

    return re.sub(r"[a-z]+", typo, text.lower()).rstrip(".!")


def britishise(text: str) -> str:
    """`text` with British spellings and words."""
    words = tables()[0]["british"]
    return re.sub(
        r"[A-Za-z]+",
        lambda m: _match_case(words.get(m.group(0).lower(), m.group(0)), m.group(0)),
        text,
    )


def _match_case(word: str, like: str) -> str:
    return _cap(word) if like[:1].isupper() else word


def single_conversation(
    posed: Posed, rng: np.random.Generator, meta: dict | None = None
) -> Conversation:
    """An everyday request for one pose, answered with words naming it and the pose."""
    answer = _pick(tables()[0]["answers"]["one"], rng)
    answer = answer.format(ger=posed.ger, Ger=_cap(posed.ger))
    return _conversation(request_text(posed, rng), answer, [posed], "everyday", meta)


def multi_conversation(
    poses: Sequence[Posed],
    rng: np.random.Generator,
    group: str | None = None,
    meta: dict | None = None,
) -> Conversation:
    """A request for 2-4 poses in order: a sequence (of imperatives or the families' phrases,
    some steps naming body parts instead, some after a context, some misspelled), or, with
    `group`, "show me {n} {group}"; the reply names each pose before it."""
    requests, _ = tables()
    if not 2 <= len(poses) <= len(ORDINALS):
        raise InvalidInputError(f"a multi-pose request has 2-{len(ORDINALS)} poses")
    multi = requests["multi"]
    n = len(poses)
    if group is not None:
        name = _pick(requests["groups"][group], rng)
        question = _pick(multi["ways"], rng).format(
            n=NUMBERS[n - 1],
            N=_cap(NUMBERS[n - 1]),
            group=name,
            context=_pick(requests["contexts"], rng),
        )
    else:
        said = [_said(p, rng) for p in poses]
        steps = [imp for imp, _ in said]
        who, poss = _pick(requests["subjects"], rng)
        does = [third_person(step, poss) for step in steps]
        if n == 2:
            template = _pick(_wordable(multi["sequence"], None not in does), rng)
        elif n == 3:
            template = _pick(multi["three_steps"], rng)
        else:
            template = "{First}, then " + ", then ".join(steps[1:-1]) + ", and finally {then}."
        gers = {f"ger{k}": ger for k, (_, ger) in enumerate(said, 1)}
        gers.update({f"Ger{k}": _cap(ger) for k, (_, ger) in enumerate(said, 1)})
        gers.update({f"does{k}": d for k, d in enumerate(does, 1)})
        question = template.format(
            first=steps[0],
            First=_cap(steps[0]),
            second=steps[1],
            then=steps[-1],
            context=_pick(requests["contexts"], rng),
            who=who,
            Who=_cap(who),
            **gers,
        )
        if rng.random() < MULTI_TYPO_RATE:
            question = misspell(question, rng)
    items = [
        _pick(requests["answers"]["multi_item"], rng).format(Nth=ORDINALS[k], ger=p.ger)
        for k, p in enumerate(poses)
    ]
    answer = " ".join([_pick(requests["answers"]["multi_intro"], rng), *items])
    kind_meta = {"group": group} if group else {}
    return _conversation(question, answer, list(poses), "multi", {**kind_meta, **(meta or {})})


def talk_conversation(rng: np.random.Generator, meta: dict | None = None) -> Conversation:
    """A question that wants words only, and its answer."""
    _, talk = tables()
    topics = list(talk["topics"])
    kinds = ["arithmetic", "pose_question", "pose_talk", "everyday_things"]
    choice = _pick([*topics, *kinds * 2], rng)
    if choice == "arithmetic":
        question, answer = _arithmetic(talk["arithmetic"], rng)
    elif choice == "pose_question":
        question, answer = _pose_question(talk["pose_questions"], rng)
    elif choice == "pose_talk":
        question, answer = _pick(talk["pose_talk"], rng)
    elif choice == "everyday_things":
        question = _pick(things_questions(_pick(talk["everyday_things"], rng)), rng)
        answer = _pick(talk["topics"]["off_topic"]["answers"], rng)
    else:
        topic = talk["topics"][choice]
        k = int(rng.integers(len(topic["questions"])))
        question = topic["questions"][k]
        answer = (
            topic["answers"][k]
            if topic.get("answers_by_question")
            else _pick(topic["answers"], rng)
        )
    return _conversation(question, answer, [], "talk", {"topic": choice, **(meta or {})})


def _pose_question(table: list, rng: np.random.Generator) -> tuple[str, str]:
    """A question about one or two families' poses ("{ger}", "{ger2}") that asks for words,
    some with a count in words ("{n} tips"): neither names nor numbers mean poses are wanted."""
    first, second = rng.choice(len(FAMILY_INFO), size=2, replace=False)
    families = list(FAMILY_INFO)
    question, answer = _pick(table, rng)
    question = question.format(
        ger=FAMILY_INFO[families[first]].describe(_pick(SIDES, rng)),
        ger2=FAMILY_INFO[families[second]].describe(_pick(SIDES, rng)),
        n=_pick(NUMBERS[1:], rng),
    )
    return question, answer


def _arithmetic(table: dict, rng: np.random.Generator) -> tuple[str, str]:
    """A sum in digits ("{a}", "{b}") or in words ("{wa}" or "{Wa}", "{wb}"; one to twenty),
    answered in digits; divisions come out whole."""
    template, op = _pick(table["questions"], rng)
    words = "{wa}" in template.lower()
    top = len(NUMBER_WORDS) if words else 100
    a, b = int(rng.integers(1, top)), int(rng.integers(1, top if op in ("+", "-") else 13))
    if op == "-" and b > a:
        a, b = b, a
    if op == "/":
        a = a // b * b or b
    result = {"+": a + b, "-": a - b, "*": a * b, "/": a // b}[op]
    answer = _pick(table["answers"], rng).format(result=result)
    if not words:
        return template.format(a=a, b=b), answer
    wa, wb = NUMBER_WORDS[a], NUMBER_WORDS[b]
    return template.format(wa=wa, Wa=_cap(wa), wb=wb), answer


def _conversation(
    question: str, answer: str, poses: Sequence[Posed], kind: str, meta: dict | None
) -> Conversation:
    if answer.count(POSE_TOKEN) != len(poses):
        raise InvalidInputError(f"an answer must hold one {POSE_TOKEN} per pose")
    info = {"kind": kind, **(meta or {})}
    if poses:
        info["families"] = [p.family for p in poses]
    return Conversation(
        messages=[Message("user", question), Message("assistant", answer)],
        poses=[p.rotmat for p in poses],
        task="instruction",
        meta=info,
    )


#: Share of the instruction conversations of each everyday kind (`posegpt.synth.engine`).
EVERYDAY_MIX = {"everyday": 0.35, "multi": 0.2, "talk": 0.2}


def everyday_makers(
    samples: Sequence, captions: dict[int, str], ids: Sequence[int]
) -> dict[str, Callable[[np.random.Generator], Conversation]]:
    """Conversation makers of the everyday kinds over one split's text poses (`samples[i]` for
    i in `ids`: posed samples with `rotmat`, `family`, `params["side"]`; `captions[i]`)."""
    makers: dict[str, Callable[[np.random.Generator], Conversation]] = {
        "talk": lambda rng: talk_conversation(rng)
    }
    if not ids:
        return makers

    def posed(i: int) -> Posed:
        s = samples[i]
        return Posed(s.rotmat, s.family, s.params.get("side"), captions.get(i), s.joints)

    by_family: dict[str, list[int]] = {}
    for i in ids:
        by_family.setdefault(samples[i].family, []).append(i)
    by_group: dict[str, list[str]] = {}
    for family in by_family:
        by_group.setdefault(FAMILY_INFO[family].group, []).append(family)
    named = tables()[0]["groups"]
    groups = [g for g, families in by_group.items() if len(families) >= 2 and g in named]
    families = list(by_family)

    def distinct(among: Sequence[str], n: int, rng: np.random.Generator) -> list[Posed]:
        """Poses of up to `n` different families of `among`, one sample each: "three lying
        poses, all different" is answered with three different ones."""
        chosen = rng.choice(len(among), size=min(n, len(among)), replace=False)
        return [posed(_pick(by_family[among[k]], rng)) for k in chosen]

    def multi(rng: np.random.Generator) -> Conversation:
        n = int(rng.choice([2, 2, 3, 3, 4]))
        if groups and rng.random() < 0.4:
            group = _pick(groups, rng)
            return multi_conversation(distinct(by_group[group], n, rng), rng, group)
        if len(families) < 2:
            return multi_conversation([posed(_pick(ids, rng)) for _ in range(n)], rng)
        return multi_conversation(distinct(families, n, rng), rng)

    makers["everyday"] = lambda rng: single_conversation(posed(_pick(ids, rng)), rng)
    makers["multi"] = multi
    return makers
