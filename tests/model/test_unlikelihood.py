import pytest
import torch

from posegpt.model.chat_format import IGNORE_INDEX
from posegpt.model.unlikelihood import repetition_unlikelihood

X = IGNORE_INDEX


def reference(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The loss written out position by position."""
    rows, row = [], 0
    for sequence in labels[:, 1:].tolist():
        answer: list[int] = []
        for token in sequence:
            if token == X:
                answer = []
                continue
            p = logits[row].softmax(-1)
            said = {t for t in answer if t != token}
            rows.append(sum(-torch.log(1 - p[c]) for c in said) if said else torch.tensor(0.0))
            answer.append(token)
            row += 1
    return torch.stack(rows).mean()


def test_it_penalises_only_tokens_the_same_answer_already_holds():
    # row 0: two answers (5 6 5 | 7 5 7); row 1: one answer (3 3 4)
    labels = torch.tensor([[X, X, 5, 6, 5, X, 7, 5, 7], [X, 3, 3, 4, X, X, X, X, X]])
    logits = torch.randn(9, 10, generator=torch.Generator().manual_seed(0))
    assert repetition_unlikelihood(logits, labels) == pytest.approx(
        float(reference(logits, labels))
    )
    # an answer's first token has nothing to repeat; the second answer starts afresh
    first_only = torch.tensor([[X, 5, X, 5, X]])
    assert repetition_unlikelihood(torch.randn(2, 10), first_only) == 0


def test_a_step_on_it_makes_the_repeated_word_less_likely():
    labels = torch.tensor([[X, 4, 2, 9]])  # at the last position, 4 and 2 are candidates
    logits = torch.zeros(3, 10, requires_grad=True)
    repetition_unlikelihood(logits, labels).backward()
    step = logits - 1.0 * logits.grad
    p = step[2].softmax(-1)
    assert p[4] < 0.1 and p[2] < 0.1 and p[9] > 0.1


def test_it_checks_the_logits_match_the_labels():
    with pytest.raises(ValueError, match="labelled positions"):
        repetition_unlikelihood(torch.randn(5, 10), torch.tensor([[X, 1, 2]]))
