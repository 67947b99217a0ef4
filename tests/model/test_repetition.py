"""The decoding-time penalty on the answer's own words (posegpt.model.repetition)."""

from __future__ import annotations

import pytest
import torch

from posegpt.errors import InvalidInputError
from posegpt.model import build_model
from posegpt.model.repetition import AnswerRepetitionPenalty, check_repetition_penalty


def test_only_the_answers_own_tokens_are_penalised():
    prompt = torch.tensor([[1, 2]])
    penalty = AnswerRepetitionPenalty(2.0, prompt, spared=[5])
    input_ids = torch.tensor([[1, 2, 2, 3, 5, 4]])  # the answer so far: 2 3 5 4
    scores = torch.tensor([[1.0, 1.0, 1.0, 1.0, -1.0, 1.0, 1.0]])
    out = penalty(input_ids, scores.clone())
    # 3 (positive) halved and 4 (negative) doubled; the prompt's 2 and the spared 5 untouched
    assert out.tolist() == [[1.0, 1.0, 1.0, 0.5, -2.0, 1.0, 1.0]]


@pytest.mark.parametrize("value", [0.5, 3.5])
def test_penalty_out_of_range_is_refused(value, tokenizer):
    with pytest.raises(InvalidInputError, match="repetition_penalty"):
        check_repetition_penalty(value)
    model = build_model("tiny", tokenizer).eval()
    with pytest.raises(InvalidInputError, match="repetition_penalty"):
        model.chat([{"role": "user", "content": "Two?"}], repetition_penalty=value)


def test_a_penalty_of_one_changes_nothing_and_a_strong_one_repeats_less(tokenizer):
    torch.manual_seed(0)
    model = build_model("tiny", tokenizer).eval()
    messages = [{"role": "user", "content": "Two?"}]
    plain = model.chat(messages, max_new_tokens=40)
    assert model.chat(messages, max_new_tokens=40, repetition_penalty=1.0).text == plain.text
    plain_words = plain.text.split()
    assert len(set(plain_words)) < len(plain_words)  # the untrained model repeats itself
    words = model.chat(messages, max_new_tokens=40, repetition_penalty=3.0).text.split()
    assert len(set(words)) / len(words) > len(set(plain_words)) / len(plain_words)
