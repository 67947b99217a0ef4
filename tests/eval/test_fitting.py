"""The shared best-epoch loop: it keeps the weights of the best-validated epoch."""

from __future__ import annotations

import torch
from torch import nn

from posegpt.eval.fitting import fit_best_epoch


def _fit(scores: list[float], higher_is_better: bool) -> tuple[nn.Linear, list[dict], list]:
    """A net whose weight is set to the epoch number each epoch, validated with `scores`."""
    net, seen = nn.Linear(1, 1), []

    def run_epoch(step) -> float:
        loss = net.weight.sum() ** 2
        step(loss)
        with torch.no_grad():
            net.weight.fill_(len(seen) + 1)
        return loss.item()

    def validate() -> dict[str, float]:
        seen.append(net.weight.item())
        return {"score": scores[len(seen) - 1]}

    history = fit_best_epoch(
        net, run_epoch, len(scores), 1, 1e-2, validate, "score", higher_is_better, progress=False
    )
    return net, history, seen


def test_keeps_the_epoch_with_the_best_score():
    net, history, _ = _fit([3.0, 1.0, 2.0], higher_is_better=False)
    assert net.weight.item() == 2.0  # epoch 2 had the lowest score
    assert [r["epoch"] for r in history] == [1, 2, 3] and history[1]["score"] == 1.0
    net, _, _ = _fit([3.0, 1.0, 2.0], higher_is_better=True)
    assert net.weight.item() == 1.0


def test_without_validation_the_last_epoch_stays():
    net = nn.Linear(2, 1)
    inputs, targets = torch.randn(8, 2), torch.randn(8, 1)

    def run_epoch(step) -> float:
        loss = ((net(inputs) - targets) ** 2).mean()
        step(loss)
        return loss.item()

    history = fit_best_epoch(net, run_epoch, 5, 1, 1e-1, progress=False)
    assert len(history) == 5 and set(history[0]) == {"epoch", "loss"}
    assert history[-1]["loss"] < history[0]["loss"]
