"""How much a reply leans to refusing (posegpt.model.refusal)."""

from __future__ import annotations

import torch

from posegpt.data.templates import ABSENT_ANSWERS, IMAGE2POSE_QUESTIONS, RPE_QUESTIONS
from posegpt.model.refusal import (
    REFUSAL_SHARE,
    REFUSAL_STARTS,
    describes_nobody,
    leans_to_refusal,
    refusal_share,
    refusal_start_ids,
)


def test_every_trained_refusal_starts_with_a_refusal_start():
    """The data's refusals and the words the model's lean is read from stay in step."""
    assert all(answer.split()[0] in REFUSAL_STARTS for answer in ABSENT_ANSWERS)
    assert {answer.split()[0] for answer in ABSENT_ANSWERS} == set(REFUSAL_STARTS)


def test_the_start_ids_are_the_first_tokens_of_the_refusals(tokenizer):
    ids = refusal_start_ids(tokenizer)
    assert len(ids) == len(REFUSAL_STARTS)
    for answer in ABSENT_ANSWERS:
        assert tokenizer.encode(answer, add_special_tokens=False)[0] in ids


def test_the_share_is_the_probability_of_starting_a_refusal(tokenizer):
    ids = refusal_start_ids(tokenizer)
    flat = torch.zeros(len(tokenizer))
    assert abs(refusal_share(flat, ids) - len(ids) / len(tokenizer)) < 1e-6
    assert not leans_to_refusal(flat, ids)
    sure = flat.clone()
    sure[ids[0]] = 50.0
    assert refusal_share(sure, ids) > 0.999 and leans_to_refusal(sure, ids)
    # the share just above the bound leans, just below does not
    for target, leans in [(REFUSAL_SHARE + 0.01, True), (REFUSAL_SHARE - 0.01, False)]:
        scores = flat.clone()
        others = len(tokenizer) - len(ids)
        scores[ids] = torch.log(torch.tensor(target / len(ids) * others / (1 - target)))
        assert abs(refusal_share(scores, ids) - target) < 1e-4
        assert leans_to_refusal(scores, ids) is leans


def test_words_a_tokenizer_cannot_write_never_lean():
    """A tokenizer that writes none of the words (a byte-level one trained on other text may
    write nothing for them) gives no start ids, and no reply leans to refusing."""

    class Mute:
        def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
            return [7] if text == "There" else []

    assert refusal_start_ids(Mute()) == [7]
    assert refusal_share(torch.zeros(10), []) == 0.0
    assert not leans_to_refusal(torch.full((10,), 5.0), [])


def test_requests_that_describe_nobody_in_particular_are_told_from_descriptions():
    for question in IMAGE2POSE_QUESTIONS:  # the training data's questions about a crop
        assert describes_nobody(question), question
    for text in ("pose pls", "<image>\nCopy her pose in 3D!", "What's he doing with his arms?"):
        assert describes_nobody(text), text
    for target in ("the man who is serving in tennis", "the woman in the blue t-shirt"):
        for question in RPE_QUESTIONS:
            assert not describes_nobody(question.format(target=target))
    assert not describes_nobody("What pose is the kid on the left in?")
