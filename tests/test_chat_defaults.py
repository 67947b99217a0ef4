"""AnswerOptions: one object carries how PoseGPT.chat answers through the engine, CLI and bench."""

import dataclasses
import inspect

import pytest

from posegpt.chat_defaults import (
    ASK_AGAIN,
    COUNT_FROM_WORDS,
    DECLINE_UNMATCHED,
    DEFAULT_REFINE,
    KEEP_SIDES,
    OWN_ANSWERS,
    STEPS_ALONE,
    AnswerOptions,
    chat_options,
)
from posegpt.model import PoseGPT


def test_chat_kwargs_are_keyword_arguments_of_chat():
    parameters = inspect.signature(PoseGPT.chat).parameters
    kwargs = chat_options(True).chat_kwargs(body=object())
    assert set(kwargs) <= set(parameters)
    assert {f.name for f in dataclasses.fields(AnswerOptions)} <= set(kwargs)


def test_photo_answers_are_refined_only_with_a_mode_and_a_body():
    body = object()
    assert AnswerOptions(refine="blend").chat_kwargs(body)["refine_with"] is body
    assert AnswerOptions(refine="blend").chat_kwargs(body)["refine"] == "blend"
    for options, with_body in ((AnswerOptions(refine="blend"), None), (OWN_ANSWERS, body)):
        kwargs = options.chat_kwargs(with_body)
        assert kwargs["refine_with"] is None and kwargs["refine"] == "fit"


def test_chat_options_are_chat_defaults():
    for has_prior, refine in ((True, DEFAULT_REFINE), (False, "orient")):
        options = chat_options(has_prior)
        assert options.refine == refine
        chosen = (options.decline_unmatched, options.keep_sides, options.steps_alone)
        assert chosen == (DECLINE_UNMATCHED, KEEP_SIDES, STEPS_ALONE)
        assert (options.count_from_words, options.ask_again) == (COUNT_FROM_WORDS, ASK_AGAIN)
    assert not any(dataclasses.astuple(OWN_ANSWERS)[2:]) and OWN_ANSWERS.refine is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        OWN_ANSWERS.keep_sides = True
