"""AnswerOptions: one object carries how PoseGPT.chat answers through the engine, CLI and bench."""

import dataclasses
import inspect

import pytest

from posegpt import chat_defaults
from posegpt.chat_defaults import (
    CHAT_SWITCHES,
    DEFAULT_REFINE,
    OWN_ANSWERS,
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
    """Each switch's default is the constant of its name in capitals; the model's own answers
    have every switch off."""
    fields = {f.name for f in dataclasses.fields(AnswerOptions)}
    assert set(CHAT_SWITCHES) == fields - {"refine", "repetition_penalty"}
    for has_prior, refine in ((True, DEFAULT_REFINE), (False, "orient")):
        options = chat_options(has_prior)
        assert options.refine == refine and options.repetition_penalty == 1.0
        for switch in CHAT_SWITCHES:
            assert getattr(options, switch) == getattr(chat_defaults, switch.upper())
            assert getattr(OWN_ANSWERS, switch) is False
    assert OWN_ANSWERS.refine is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        OWN_ANSWERS.keep_sides = True
