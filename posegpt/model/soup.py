"""Model soups: one model whose weights are the average of several trained from the same start.

Models fine-tuned from the same weights (stages from one model on other data or seeds) lie in one
basin of the loss, and the uniform average of their weights is usually about as good as the best
of them on their own data and better away from it (Wortsman et al. 2022, "Model soups"). For
posegpt "away" is real photos: every model is trained on synthetic renders only.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch

from posegpt.errors import InvalidInputError
from posegpt.model.build import differing_settings, switched
from posegpt.model.network import PoseGPT


def average_models(models: Sequence[PoseGPT]) -> PoseGPT:
    """A new model (the first's config and tokenizer) whose every floating-point weight is the
    mean of `models`' (other tensors must be equal). The models must share config, tokenizer and
    tensor shapes, but for settings a trained model may switch (`SWITCHABLE`: the BlazePose
    variant read), which are the first's."""
    if len(models) < 2:
        raise InvalidInputError("a soup needs at least two models")
    first = models[0]
    for i, other in enumerate(models[1:], start=1):
        differing = differing_settings(first.config, switched(other.config, first.config))
        if differing:
            raise InvalidInputError(
                f"model {i} has other settings than model 0 ({', '.join(differing)}): "
                "only models of one config average"
            )
        if other.tokenizer.get_vocab() != first.tokenizer.get_vocab():
            raise InvalidInputError(f"model {i} has another tokenizer than model 0")
    states = [model.state_dict() for model in models]
    averaged = {}
    for name, tensor in states[0].items():
        tensors = [state[name] for state in states]
        if any(t.shape != tensor.shape for t in tensors):
            raise InvalidInputError(f"{name} has different shapes across the models")
        if tensor.is_floating_point():
            averaged[name] = torch.stack([t.float() for t in tensors]).mean(0).to(tensor.dtype)
        elif all(torch.equal(t, tensor) for t in tensors):
            averaged[name] = tensor
        else:
            raise InvalidInputError(f"{name} (not a weight) differs across the models")
    soup = copy.deepcopy(first)
    soup.load_state_dict(averaged, strict=True)
    return soup.eval()
