"""The training loop the learned baselines share: minibatch AdamW with a one-cycle schedule,
keeping the weights of the epoch with the lowest validation loss."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from tqdm import tqdm

from posegpt.body.rotations import rotmat_to_6d
from posegpt.errors import InvalidInputError
from posegpt.eval.baselines.base import Budget
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
    optimizer = torch.optim.AdamW(net.parameters(), lr=budget.lr, weight_decay=1e-4)
    steps = budget.epochs * math.ceil(len(inputs) / budget.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, budget.lr, total_steps=steps)
    best, best_state, history = math.inf, None, []
    bar = tqdm(range(budget.epochs), desc=desc, unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        net.train()
        order = torch.randperm(len(inputs), generator=generator)
        total = 0.0
        for start in range(0, len(order), budget.batch_size):
            rows = order[start : start + budget.batch_size]
            loss = loss_fn(net(inputs[rows]), targets[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(rows)
        record = {"epoch": epoch + 1, "loss": total / len(inputs)}
        if val is not None and len(val[0]):
            record["val_loss"] = evaluate_loss(net, *val, loss_fn)
            if record["val_loss"] < best:
                best = record["val_loss"]
                best_state = {k: v.clone() for k, v in net.state_dict().items()}
        history.append(record)
        bar.set_postfix({k: round(v, 4) for k, v in record.items() if k != "epoch"})
    if best_state is not None:
        net.load_state_dict(best_state)
    return history


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
