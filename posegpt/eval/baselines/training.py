"""Training the learned baselines: minibatch regression through the shared best-epoch loop
(`posegpt.eval.fitting`), keeping the weights of the epoch with the lowest validation loss."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from posegpt.body.rotations import rotmat_to_6d
from posegpt.errors import InvalidInputError
from posegpt.eval.baselines.base import Budget
from posegpt.eval.fitting import Step, fit_best_epoch
from posegpt.model.pose_head import PoseHead

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
#: Rows per forward pass when predicting or validating.
CHUNK = 256


def fit_regressor(
    net: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    loss_fn: Loss,
    budget: Budget,
    val: tuple[torch.Tensor, torch.Tensor] | None = None,
    desc: str = "training",
    progress: bool = True,
) -> list[dict[str, float]]:
    """Train `net` so that loss_fn(net(inputs), targets) falls; with `val` (inputs, targets),
    keep the epoch with the lowest validation loss. Returns per-epoch records; `net` ends in
    eval mode."""
    if len(inputs) != len(targets) or len(inputs) == 0:
        raise InvalidInputError(f"need matching, non-empty inputs and targets for {desc}")
    generator = torch.Generator().manual_seed(budget.seed)

    def run_epoch(step: Step) -> float:
        order = torch.randperm(len(inputs), generator=generator)
        total = 0.0
        for start in range(0, len(order), budget.batch_size):
            rows = order[start : start + budget.batch_size]
            loss = loss_fn(net(inputs[rows]), targets[rows])
            step(loss)
            total += loss.item() * len(rows)
        return total / len(inputs)

    def validate() -> dict[str, float]:
        return {"val_loss": evaluate_loss(net, *val, loss_fn)}

    steps = math.ceil(len(inputs) / budget.batch_size)
    checked = validate if val is not None and len(val[0]) else None
    return fit_best_epoch(
        net, run_epoch, budget.epochs, steps, budget.lr, checked, desc=desc, progress=progress
    )


@torch.no_grad()
def evaluate_loss(
    net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, loss_fn: Loss
) -> float:
    """Mean loss over the rows, in eval mode."""
    net.eval()
    total = sum(
        loss_fn(net(inputs[i : i + CHUNK]), targets[i : i + CHUNK]).item()
        * len(inputs[i : i + CHUNK])
        for i in range(0, len(inputs), CHUNK)
    )
    return total / len(inputs)


@torch.no_grad()
def predict(net: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """net(inputs) in eval mode, in chunks."""
    net.eval()
    return torch.cat([net(inputs[i : i + CHUNK]) for i in range(0, len(inputs), CHUNK)])


def pose_head(features: int, mean_pose: torch.Tensor) -> PoseHead:
    """The paper's pose head (features -> 24 x 6D -> rotation matrices), starting at
    `mean_pose` (24, 3, 3), as HMR's regressor starts from the mean pose."""
    head = PoseHead(features, features)
    with torch.no_grad():
        head.mlp[-1].bias.copy_(rotmat_to_6d(mean_pose).reshape(-1))
    return head
