"""Refitting the pose head alone on cached `<POSE>` hidden states.

After a run, the language model's features are fixed and the head that reads them is small: the
backbone's forward pass is paid once per conversation (no LM head, no backward pass), then the
head trains for many epochs over the cached states in seconds. With a large language model
(Gemma + LoRA: a few conversations per second on a CPU) the joint run cannot afford the many
passes the head needs; this stage gives them. The epoch with the lowest validation joint error
is kept (epoch 0: the head as it was).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from posegpt.body.rotations import geodesic_distance
from posegpt.errors import InvalidInputError
from posegpt.model import PoseGPT
from posegpt.model.pose_head import PoseHead, head_losses
from posegpt.train.data import (
    ConversationSource,
    EncodedDataset,
    evaluation_batches,
    make_loader,
)

#: Conversations per backbone forward pass while caching.
CACHE_BATCH = 8


@dataclass(frozen=True)
class RefitResult:
    """What a refit did: poses cached, validation joint error (degrees) before and after, the
    epoch kept, and the seconds spent caching and fitting."""

    train_poses: int
    val_poses: int
    val_deg_before: float
    val_deg_after: float
    best_epoch: int
    cache_s: float
    fit_s: float


@torch.no_grad()
def cache_pose_states(
    model: PoseGPT, source: ConversationSource, count: int, progress: bool = False
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The `<POSE>` hidden states (N, hidden), the poses they change (N, 24, 3, 3; zeros for
    none) and true rotations (N, 24, 3, 3) of up to `count` conversations spread evenly over
    `source`."""
    dataset = EncodedDataset(
        source, model.tokenizer, model.config, model.config.max_length, model.image_processor
    )
    batches = evaluation_batches(source, count, CACHE_BATCH)
    states, changed, targets = [], [], []
    loader = make_loader(dataset, batches, model.collate_fn, num_workers=0, seed=0)
    for batch in tqdm(loader, desc="caching <POSE> states", unit="batch", disable=not progress):
        hidden, sources = model.pose_hidden_states(batch)
        states.append(hidden.float())
        changed.append(sources)
        targets.append(batch["pose_targets"].float())
    return torch.cat(states), torch.cat(changed), torch.cat(targets)


def refit_pose_head(
    model: PoseGPT,
    train_source: ConversationSource,
    val_source: ConversationSource,
    *,
    samples: int = 4000,
    val_samples: int = 256,
    epochs: int = 40,
    lr: float = 1e-3,
    batch_size: int = 64,
    seed: int = 0,
    gates_only: bool = False,
    progress: bool = False,
) -> RefitResult:
    """Train `model.pose_head` (in place) on the cached states of `samples` training
    conversations; keep the epoch whose head is best on `val_samples` validation ones.
    `gates_only`: train only its keep gates (the rest of the head as trained)."""
    head = model.pose_head
    if gates_only and head.keep is None:
        raise InvalidInputError("gates_only needs a model with keep gates (model.keep_gates)")
    model.eval()
    start = time.perf_counter()
    x, x_changed, y = cache_pose_states(model, train_source, samples, progress)
    val_x, val_changed, val_y = cache_pose_states(model, val_source, val_samples, progress)
    if not len(x) or not len(val_x):
        raise InvalidInputError("no <POSE> answers in the training or validation conversations")
    cache_s = time.perf_counter() - start
    before = best = _joint_error_deg(head, val_x, val_changed, val_y)
    kept, best_epoch = copy.deepcopy(head.state_dict()), 0
    trained = head.keep if gates_only else head
    optimizer = torch.optim.AdamW(trained.parameters(), lr=lr, weight_decay=0.0)
    order = torch.Generator().manual_seed(seed)
    for epoch in tqdm(range(1, epochs + 1), desc="fitting the pose head", disable=not progress):
        head.train()
        for rows in torch.randperm(len(x), generator=order).split(batch_size):
            optimizer.zero_grad()
            # as in training: the head's own answers and the gates apart
            _, pose, gates = head_losses(head, x[rows], x_changed[rows], y[rows])
            loss = gates if gates_only else pose + (0.0 if gates is None else gates)
            loss.backward()
            optimizer.step()
        error = _joint_error_deg(head, val_x, val_changed, val_y)
        if error < best:
            best, best_epoch, kept = error, epoch, copy.deepcopy(head.state_dict())
    head.load_state_dict(kept)
    head.eval()
    fit_s = time.perf_counter() - start - cache_s
    return RefitResult(len(x), len(val_x), before, best, best_epoch, cache_s, fit_s)


@torch.no_grad()
def _joint_error_deg(
    head: PoseHead, states: torch.Tensor, changed: torch.Tensor, targets: torch.Tensor
) -> float:
    """Mean joint rotation error in degrees."""
    head.eval()
    return math.degrees(float(geodesic_distance(head(states, changed), targets).mean()))
