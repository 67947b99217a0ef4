"""Situations the model never learned, answered with MiniLM's nearest family
(`posegpt.model.situations`, `PoseGPT.chat(route_situations=True)`, `posegpt add-situations`)."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from posegpt.cli import app
from posegpt.errors import ModelFileError
from posegpt.model import Reply, load_pretrained
from posegpt.model.network import _asked_for_family
from posegpt.model.situations import ASK, KnownSituations
from posegpt.synth.speculative import (
    SPECULATIVE_ANSWERS,
    known_situations,
    speculative_conversation,
    spg_split,
)

POSE = torch.eye(3).expand(24, 3, 3)


def _embed(texts: list[str]) -> torch.Tensor:
    """A bag of words (each word one of 512 dimensions): texts sharing words are close."""
    out = torch.zeros(len(texts), 512)
    for row, text in enumerate(texts):
        for word in text.lower().replace(",", " ").split():
            if word not in ("someone", "a", "the", "on"):
                out[row, zlib.crc32(word.encode()) % 512] += 1
    return out


def _situations() -> KnownSituations:
    families = {"kneeling_one_knee": "kneeling on one knee", "rowing": "rowing a boat"}
    known = ["proposing marriage", "asking for her hand"]
    words = frozenset(["what", "pose", "would", "be", "in", "this", "man", "is", "show", "me"])
    return KnownSituations(families, known, words, ["Most likely", "I would guess"])


def test_a_situation_is_read_without_the_question_words():
    known = _situations()
    assert known.situation("What pose would this man be in, rowing a boat?") == (
        "someone rowing a boat"
    )
    assert known.answers_situation(" most likely kneeling. <POSE>")
    assert not known.answers_situation("Here is someone kneeling: <POSE>")


def test_only_a_guess_about_an_unknown_situation_gets_a_family():
    known = _situations()
    guess = "I would guess standing. <POSE>"
    rowing = "What pose would this man be in, rowing a boat?"
    assert known.unknown_family(rowing, guess, _embed) == "rowing a boat"
    proposing = "This man is proposing marriage. What pose?"  # known
    assert known.unknown_family(proposing, guess, _embed) is None
    assert known.unknown_family(rowing, "Here is someone standing: <POSE>", _embed) is None


def test_an_answer_is_asked_again_for_a_family_only_if_that_gives_one_pose(recording_chat):
    chat, asked = recording_chat.answering, recording_chat.asked
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello!"}]
    messages = [*history, {"role": "user", "content": "What pose would he be in, rowing?"}]
    guess = ("I would guess standing. <POSE>", [POSE])
    rowing = Reply("Here is someone rowing a boat: <POSE>", [POSE])
    assert _asked_for_family(chat(rowing), messages, "rowing a boat", *guess) == (
        rowing.text,
        rowing.poses,
    )
    assert asked[-1] == [*history, {"role": "user", "content": ASK.format(phrase="rowing a boat")}]
    for reply in (Reply("No.", []), Reply("<POSE> <POSE>", [POSE, POSE])):
        assert _asked_for_family(chat(reply), messages, "rowing a boat", *guess) == guess
    asked.clear()
    assert _asked_for_family(chat(rowing), messages, None, *guess) == guess
    assert not asked


def test_the_known_situations_are_the_train_splits_only():
    split = spg_split(3)
    known = known_situations(3)
    unseen = {
        p.format(poss="their")
        for name in ("val", "test")
        for s in split[name].situations
        for p in s.phrasings
    }
    trained = {
        p.format(poss="their")
        for s in split["train"].situations
        for p in split["train"].phrasings[s.name]
    }
    assert set(known.known) == trained and not trained & unseen  # train phrasings only
    assert {"what", "pose", "someone", "woman"} <= known.question_words
    # every speculative answer opens as the openers say
    rng = np.random.default_rng(0)
    situation = split["train"].situations[0]
    for _ in range(20):
        answer = speculative_conversation(situation, "kneeling", POSE, rng, split["train"])
        assert known.answers_situation(answer.messages[1].content)
    assert len(known.openers) == len(SPECULATIVE_ANSWERS)


def test_known_situations_are_stored_with_the_model(tmp_path):
    dataset_dir, out = tmp_path / "data", tmp_path / "model"
    dataset_dir.mkdir()
    (dataset_dir / "card.json").write_text('{"seed": 5}')  # all the command reads
    result = CliRunner().invoke(
        app, ["add-situations", "small", "--data", str(dataset_dir), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    stored = load_pretrained(out).situations
    assert stored is not None and stored.known == known_situations(5).known
    assert stored.families == known_situations(5).families
    (out / "situations.json").write_text('{"families": {}}')
    with pytest.raises(ModelFileError, match="situations"):
        load_pretrained(out)
    missing = CliRunner().invoke(
        app, ["add-situations", "small", "--data", str(tmp_path), "-o", str(tmp_path / "x")]
    )
    assert missing.exit_code != 0 and not (tmp_path / "x").exists()


def test_chat_without_known_situations_or_sentence_features_answers_as_asked(words_only_model):
    model = words_only_model
    request = [{"role": "user", "content": "What pose would someone rowing a boat be in?"}]
    plain = model.chat(request, max_new_tokens=4)
    for situations in (None, _situations()):
        model.situations = situations
        for option in ("route_situations", "nearest_family"):
            answer = model.chat(request, max_new_tokens=4, **{option: True})
            assert (answer.text, len(answer.poses)) == (plain.text, len(plain.poses))


def test_a_request_naming_no_body_part_gets_its_clearly_nearer_family():
    known = _situations()
    nearer = known.nearer_family
    assert nearer("rowing a boat on the lake", "Here is someone waving:", _embed) == "rowing a boat"
    # the answer's words as near as the family: kept
    assert nearer("rowing a boat on the lake", "Someone rowing a boat", _embed) is None
    # a request that names a body part says more than a family: kept
    assert nearer("rowing a boat, the left arm up", "Here is someone waving:", _embed) is None
    assert nearer("Rowing a boat, hands-free", "Here is someone waving:", _embed) is None
