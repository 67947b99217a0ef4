"""A decoding-time penalty on words the answer has already used: CTRL's repetition penalty
(Keskar et al., 2019; transformers' `RepetitionPenaltyLogitsProcessor`) over the answer's own
tokens only, sparing the prompt's words and the tokens every answer repeats (`<POSE>`, the
stop tokens). Asked for "three ways to sit", a model that copies its first item's words then
names three different poses; asked for steps that share words ("sit and wave, then sit and
read") it may drift from a step, so it is off unless asked for (BENCHMARKS.md measures both).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from transformers import LogitsProcessor
from transformers.generation.logits_process import RepetitionPenaltyLogitsProcessor

from posegpt.errors import InvalidInputError

#: The strongest penalty a reply may ask for (CTRL used 1.2).
MAX_REPETITION_PENALTY = 3.0


def check_repetition_penalty(penalty: float) -> float:
    """`penalty` if in 1..MAX_REPETITION_PENALTY (1: off), else InvalidInputError."""
    if not 1.0 <= penalty <= MAX_REPETITION_PENALTY:
        raise InvalidInputError(f"repetition_penalty must be in 1..{MAX_REPETITION_PENALTY}")
    return penalty


class AnswerRepetitionPenalty(LogitsProcessor):
    """Divides the positive scores (multiplies the negative ones) of the tokens the answer
    already holds by `penalty`, except `prompt_ids`' tokens and `spared` ids."""

    def __init__(self, penalty: float, prompt_ids: torch.Tensor, spared: Iterable[int]) -> None:
        self.penalty = RepetitionPenaltyLogitsProcessor(
            penalty, prompt_ignore_length=prompt_ids.shape[-1]
        )
        self.spared = torch.tensor(sorted({*spared, *prompt_ids.flatten().tolist()}))

    def __call__(self, input_ids: torch.LongTensor, scores: torch.Tensor) -> torch.Tensor:
        penalised = self.penalty(input_ids, scores.clone())
        penalised[:, self.spared] = scores[:, self.spared]
        return penalised
