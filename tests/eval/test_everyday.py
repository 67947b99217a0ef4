"""The everyday benchmark: its file, its scoring, and that it stays held out from training."""

import json
import re
from functools import cache

import numpy as np
import pytest
import torch

from posegpt.body import load_body_model
from posegpt.body.rotations import identity_pose
from posegpt.data import templates
from posegpt.errors import InvalidInputError
from posegpt.eval.everyday.items import (
    DEV2_REQUESTS_FILE,
    DEV3_REQUESTS_FILE,
    DEV4_REQUESTS_FILE,
    DEV_REQUESTS_FILE,
    KNEELING_PROBE_FILE,
    NAMED_FILES,
    PHOTO_FILES,
    PHOTO_REQUESTS_FILE,
    REQUESTS_FILE,
    everyday_file,
    load_everyday,
    load_photo_requests,
    photo_file,
    subset,
)
from posegpt.eval.everyday.naming import named_family, pose_words
from posegpt.eval.everyday.score import Answer, score_everyday
from posegpt.synth import everyday, instructions, part_requests, speculative
from posegpt.synth.pose_families import FAMILY_INFO
from posegpt.synth.poses import PoseGenerator
from posegpt.synth.third_person import third_person

FORMS = {
    "request": {
        "imperative", "second_person", "third_person", "question", "terse", "casual",
        "polite", "misspelled", "british", "embedded",
    },
    "multi": {"sequence", "ways"},
    "other": {"greeting", "arithmetic", "body_fact", "about", "off_topic", "pose_question"},
}  # fmt: skip


def _normal(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def training_templates() -> list[str]:
    """Every user-side template of the synthetic engine (fields as "{...}"), but those made of
    one field alone ("{question}": the captioner's fact questions about a pose)."""
    found = [t for kind in templates.QUESTIONS.values() for t in kind]
    found += list(templates.IMAGE2POSE_EVERYDAY_QUESTIONS)
    found += list(speculative.QUERY_TEMPLATES)
    found += [p for s in speculative.SITUATIONS for p in s.phrasings]
    found += [q for kind in instructions._QUESTIONS.values() for q in kind]
    return [t for t in found if re.sub(r"\{[^}]*\}", "", t).strip()]


def everyday_templates() -> tuple[list[str], dict[str, str]]:
    """The everyday engine's request templates and, per field, a regex of every value it can
    take (typos aside): its tables are finite."""
    requests, talk = everyday.tables()
    sides = ("left", "right")
    imps = {i.format(side=s) for f in FAMILY_INFO for i in everyday.imperatives(f) for s in sides}
    gers = {FAMILY_INFO[f].describe(s) for f in FAMILY_INFO for s in sides}
    who = {w for w, _ in requests["subjects"]}

    def alt(values) -> str:
        values = {v for v in values} | {everyday.britishise(v) for v in values}
        return "(?:" + "|".join(sorted(re.escape(_normal(v)) for v in values)) + ")"

    def joined(register: str, most: int = 2) -> str:  # parts of a request naming body parts
        one = alt(part_requests.phrases(register))
        return f"{one}(?: (?:and )?{one}){{0,{most}}}"

    part_gers = f"(?:{alt(part_requests.phrases('ger'))}|standing)(?: with {joined('ger', 1)})?"
    possessives = sorted({p for _, p in requests["subjects"]})

    def said_of(phrases) -> set[str]:  # imperatives said of someone ("sits down")
        done = (third_person(i, p) for i in phrases for p in possessives)
        return {d for d in done if d is not None}

    part_does = alt(said_of(part_requests.phrases("imp")))
    does = f"(?:{alt(said_of(imps))}|{part_does}(?: (?:and )?{part_does}){{0,2}})"
    fields = {
        **dict.fromkeys(
            ("imp", "Imp", "first", "First", "second", "then"), f"(?:{alt(imps)}|{joined('imp')})"
        ),
        **dict.fromkeys(
            ("ger", "Ger", "ger1", "Ger1", "ger2", "Ger2", "ger3"), f"(?:{alt(gers)}|{part_gers})"
        ),
        "note": joined("note"),
        **dict.fromkeys(("who", "Who"), alt(who)),
        "poss": alt(possessives),
        **dict.fromkeys(("does", "does1", "does2"), does),
        "context": alt(requests["contexts"]),
        "caption": CAPTION,
        **dict.fromkeys(("n", "N"), alt(everyday.NUMBERS)),
        "group": alt(g for names in requests["groups"].values() for g in names),
        **dict.fromkeys(("a", "b"), r"\d+"),
        **dict.fromkeys(("wa", "Wa", "wb"), alt(templates.NUMBER_WORDS)),
        **{kind: alt(values) for kind, values in everyday.words().items()},
        **{
            f"a_{kind}": alt(everyday.with_article(v) for v in values)
            for kind, values in everyday.words().items()
        },
    }
    found = [t for form in requests["forms"].values() for t in form] + requests["part_notes"]
    found += [t for kind in ("sequence", "three_steps", "ways") for t in requests["multi"][kind]]
    found += [q for q, _ in talk["arithmetic"]["questions"]]
    found += [q for q, _ in talk["pose_questions"] + talk["pose_talk"]]
    found += [q for topic in talk["topics"].values() for q in topic["questions"]]
    found += talk["everyday_things"]
    return found, fields


#: What a field may hold: the captioner's fact questions start with one of these words;
#: every other field (descriptions, situations, targets...) may hold any words.
FACT_QUESTION = r" ?(?:is|are|what|where|which|how|does|do|can)\b.*? ?"
#: The captioner's descriptions start with their subject.
CAPTION = r"(?:the|this|a|an|someone|they|their)\b.*?"
ANY = r".*?"


def _words(template: str) -> set[str]:
    """The words a template says outside its fields."""
    return set(_normal(re.sub(r"\{[^}]*\}", " ", template)).split())


@cache
def _field(regex: str) -> re.Pattern:
    """A field's regex, compiled once (some are alternations of a million characters)."""
    return re.compile(regex)


def _template_parts(template: str, fields: dict[str, str] | None) -> list[str | re.Pattern]:
    """A template as normalised literal pieces and field regexes (fact questions as
    FACT_QUESTION, any field not in `fields` as any words), in order."""
    parts: list[str | re.Pattern] = []
    for piece in re.split(r"(\{[^}]*\})", template):
        if piece.startswith("{"):
            name = piece[1:-1]
            default = FACT_QUESTION if "question" in name else ANY
            parts.append(_field((fields or {}).get(name, default)))
        elif _normal(piece):
            parts.append(_normal(piece))
    return parts


def _fills(parts: list[str | re.Pattern], text: str, at: int = 0) -> bool:
    """Whether normalised `text` from `at` on is `parts` filled in: each literal piece as it is,
    each field with a value its regex matches, one space allowed before and after each."""
    at += text.startswith(" ", at)
    if not parts:
        return at == len(text)
    first, rest = parts[0], parts[1:]
    if isinstance(first, str):
        return text.startswith(first, at) and _fills(rest, text, at + len(first))
    ends = range(at, len(text) + 1)
    if rest and isinstance(rest[0], str):  # the field ends where the next literal may start
        ends = (e for e in ends if text.startswith(rest[0], e + text.startswith(" ", e)))
    return any(first.fullmatch(text, at, e) and _fills(rest, text, e) for e in ends)


def test_the_benchmark_covers_every_form_and_category():
    items = load_everyday()
    assert len(items) >= 150
    for category, forms in FORMS.items():
        chosen = [i for i in items if i.category == category]
        assert {i.form for i in chosen} == forms
        assert len(chosen) >= 30
    assert {i.poses for i in items if i.category == "multi"} >= {2, 3}
    assert all(i.predicates for i in items if i.category == "request")


@pytest.mark.parametrize("named", [n for n in NAMED_FILES if n != "test"])
def test_each_development_file_is_apart_from_the_other_sets(named):
    dev = load_everyday(NAMED_FILES[named])
    others = [i for n, f in NAMED_FILES.items() if n != named for i in load_everyday(f)]
    assert not {_normal(i.text) for i in dev} & {_normal(i.text) for i in others}
    assert not {i.id for i in dev} & {i.id for i in others}


@pytest.mark.parametrize("dev_file", [DEV_REQUESTS_FILE, DEV2_REQUESTS_FILE, DEV4_REQUESTS_FILE])
def test_each_development_set_covers_each_category(dev_file):
    dev = load_everyday(dev_file)
    for category, forms in FORMS.items():
        assert {i.form for i in dev if i.category == category} == forms
    assert len(dev) >= 80


def test_everyday_file_names_the_sets_or_an_existing_file(tmp_path):
    assert everyday_file("test") == REQUESTS_FILE
    assert everyday_file("dev") == DEV_REQUESTS_FILE
    assert everyday_file("dev2") == DEV2_REQUESTS_FILE
    assert everyday_file("dev3") == DEV3_REQUESTS_FILE
    assert everyday_file("dev4") == DEV4_REQUESTS_FILE
    assert everyday_file("kneeling") == KNEELING_PROBE_FILE
    (tmp_path / "mine.jsonl").write_text("")
    assert everyday_file(str(tmp_path / "mine.jsonl")) == tmp_path / "mine.jsonl"
    with pytest.raises(InvalidInputError, match="no everyday items file"):
        everyday_file(str(tmp_path / "missing.jsonl"))


@pytest.mark.slow
def test_no_training_template_produces_a_benchmark_sentence():
    found, fields = everyday_templates()
    templates_ = [(t, None) for t in training_templates()] + [(t, fields) for t in found]
    assert len(templates_) > 200

    @cache
    def parts(i: int) -> list[str | re.Pattern]:  # built only when a sentence may need it
        return _template_parts(*templates_[i])

    words = [_words(t) for t, _ in templates_]
    questions = [i.text for path in NAMED_FILES.values() for i in load_everyday(path)]
    photo = [q for path in PHOTO_FILES.values() for q in load_photo_requests(path)]
    for question in questions + photo:
        text = _normal(question)
        padded = f" {text} "
        # a template's own words must all be in the sentence before it is worth trying
        tried = (i for i, w in enumerate(words) if all(f" {x} " in padded for x in w))
        assert not any(_fills(parts(i), text) for i in tried), question


@pytest.mark.slow
def test_the_template_matcher_finds_what_the_engine_writes():
    found, fields = everyday_templates()
    parts = [_template_parts(t, fields) for t in found]
    rng = np.random.default_rng(0)
    forms = [f for f in everyday.FORM_WEIGHTS if f != "misspelled"]  # typos are not templates
    for family in list(FAMILY_INFO)[::20]:
        posed = everyday.Posed(identity_pose(), family, side="left")
        for form in forms:
            text = _normal(everyday.request_text(posed, rng, form))
            assert any(_fills(p, text) for p in parts), (form, text)
    assert not _fills(_template_parts("{Who} first {does1} and then {does2}.", fields), "hello")


def test_photo_requests_are_distinct_everyday_requests():
    requests = load_photo_requests()
    assert len(requests) >= 12 and len({_normal(r) for r in requests}) == len(requests)
    assert not any("<image>" in r or "SMPL" in r for r in requests)  # as people write them
    dev = load_photo_requests(photo_file("dev"))
    assert len(dev) >= 40 and len({_normal(r) for r in dev}) == len(dev)
    assert not {_normal(r) for r in dev} & {_normal(r) for r in requests}  # apart from the test
    assert photo_file("test") == PHOTO_REQUESTS_FILE
    with pytest.raises(InvalidInputError, match="test, dev"):
        photo_file("train")


def test_a_subset_asks_every_form_of_each_category():
    items = load_everyday()
    chosen = subset(items, 12)
    for category, forms in FORMS.items():
        picked = [i for i in chosen if i.category == category]
        assert len(picked) == 12 and {i.form for i in picked} >= set(list(forms)[:2])
        assert len({i.form for i in picked}) == min(12, len(forms))
    assert subset(items, None) == items


def test_malformed_items_are_refused(tmp_path):
    path = tmp_path / "bad.jsonl"
    row = {"id": "x", "category": "multi", "form": "ways", "topic": "t", "text": "Two poses."}
    path.write_text(json.dumps({**row, "poses": 2, "predicates": [["wrists above head"]]}))
    with pytest.raises(InvalidInputError, match="one predicate list per pose"):
        load_everyday(path)
    path.write_text(json.dumps({**row, "poses": 2, "predicates": [["arms up"], []]}))
    with pytest.raises(InvalidInputError, match="not a predicate"):
        load_everyday(path)


def test_naming_finds_the_longest_family_name_in_each_poses_words():
    assert named_family("Sure: someone kneeling on the left knee. <POSE>") == "kneeling_one_knee"
    assert named_family("Lying face down <POSE>") == "lying_on_front"
    assert named_family("The pose is <POSE>.") is None
    assert pose_words("First standing: <POSE> then sitting: <POSE>.") == [
        "First standing: ",
        " then sitting:  .",
    ]
    assert pose_words("no pose here") == []


@pytest.fixture(scope="module")
def body():
    return load_body_model()


def test_scoring_counts_poses_checks_predicates_and_agreement(body):
    items = {i.id: i for i in load_everyday()}
    chosen = [items["r001"], items["r001"], items["m005"], items["n001"], items["n007"]]
    generator = PoseGenerator(seed=0, body=body)
    back = generator.sample("lying_on_back").rotmat
    front = generator.sample("lying_on_front").rotmat
    answers = [
        Answer("Here is someone lying on the back: <POSE>", [back]),  # right
        Answer("Lying on the back: <POSE>", [identity_pose()]),  # wrong pose, words disagree
        Answer("Lying on the back <POSE> then lying face down <POSE>", [back, front]),
        Answer("Hello!", []),
        Answer("It is <POSE>", [back]),  # a pose where none was wanted
    ]
    families = {id(back): "lying_on_back", id(front): "lying_on_front"}

    def classify(poses: torch.Tensor) -> list[str]:
        return [
            "lying_on_back" if torch.allclose(p, back) else
            "lying_on_front" if torch.allclose(p, front) else "t_pose"
            for p in poses
        ]  # fmt: skip

    assert families
    metrics, details = score_everyday(chosen, answers, body, classify)
    assert [r["pass"] for r in details["items"]] == [True, False, True, True, False]
    assert metrics["pass"] == pytest.approx(60.0)
    assert metrics["one_pose"] == 100.0 and metrics["no_pose"] == 50.0
    assert metrics["multi_count"] == 100.0 and metrics["two_pose"] == 100.0
    assert metrics["multi_distinct"] == 100.0
    assert metrics["agreement"] == pytest.approx(75.0) and metrics["named"] == 100.0
    assert details["items"][1]["failed"] == ["pose 1: torso horizontal", "pose 1: facing up"]
    assert details["pass_by_form"]["other/greeting"] == 100.0
    repeated = [Answer("Lying on the back <POSE> then again <POSE>", [back, back])]
    metrics, _ = score_everyday([items["m005"]], repeated, body, classify)
    assert metrics["multi_count"] == 100.0 and metrics["multi_distinct"] == 0.0


def test_every_development_request_is_met_by_some_familys_samples(body):
    """Each pose a dev item asks for is one that some pose family shows (on most of 4 samples,
    sides drawn at random): the items ask for poses the engine can make."""
    families = list(FAMILY_INFO)
    drawn = [f for f in families for _ in range(4)]
    samples = PoseGenerator(seed=0, body=body).sample_many(len(drawn), families=drawn)
    joints = torch.stack([s.joints for s in samples]).reshape(len(families), 4, 24, 3)
    dev = [path for name, path in NAMED_FILES.items() if name != "test"]
    for item in (i for path in dev for i in load_everyday(path)):
        for predicates in item.predicates:
            met = (sum(all(p(j) for p in predicates) for j in fam) >= 2 for fam in joints)
            assert any(met), (item.id, item.text)
