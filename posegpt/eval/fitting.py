"""The one "keep the best epoch" training loop of the evaluation side (the learned baselines and
the retrieval evaluator): AdamW with a one-cycle schedule, one validation per epoch, and the
weights of the best-validated epoch restored at the end."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from tqdm import tqdm

#: Takes a batch's loss and makes one optimizer (and schedule) step on it.
Step = Callable[[torch.Tensor], None]


def fit_best_epoch(
    model: nn.Module,
    run_epoch: Callable[[Step], float],
    epochs: int,
    steps_per_epoch: int,
    lr: float,
    validate: Callable[[], dict[str, float]] | None = None,
    score: str = "val_loss",
    higher_is_better: bool = False,
    desc: str = "training",
    progress: bool = True,
) -> list[dict[str, float]]:
    """Train `model` for `epochs` epochs; `run_epoch(step)` runs one (calling `step(loss)` per
    batch) and returns its mean training loss. With `validate`, its metrics join each epoch's
    record and the weights of the epoch with the best `score` are kept. Returns the per-epoch
    records ({"epoch", "loss", validation metrics})."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, lr, total_steps=epochs * steps_per_epoch
    )

    def step(loss: torch.Tensor) -> None:
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()

    best = -math.inf if higher_is_better else math.inf
    best_state, history = None, []
    bar = tqdm(range(epochs), desc=desc, unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        record = {"epoch": epoch + 1, "loss": run_epoch(step)}
        if validate is not None:
            record.update(validate())
            value = record[score]
            if value > best if higher_is_better else value < best:
                best = value
                best_state = {k: v.clone() for k, v in model.state_dict().items()}
        history.append(record)
        bar.set_postfix({k: round(record[k], 4) for k in ("loss", score) if k in record})
    if best_state is not None:
        model.load_state_dict(best_state)
    return history
