"""Refitting the pose head alone on cached `<POSE>` hidden states.

After a run, the language model's features are fixed and the head that reads them is small: the
backbone's forward pass is paid once per conversation (no LM head, no backward pass), then the
head trains for many epochs over the cached states in seconds. With a large language model
(Gemma + LoRA: a few conversations per second on a CPU) the joint run cannot afford the many
passes the head needs; this stage gives them. The epoch with the lowest validation joint error
is kept (epoch 0: the head as it was), or the last one: the mean joint error of a validation
sample hardly moves with what a long refit mends (answers that lean to one side of a sided
family: BENCHMARKS.md), so it would stop a refit at its first epochs.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Literal

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
#: What a refit may train -> the prefix of the head's parameters it trains.
PARTS = {"head": "", "gates": "keep.", "words": "mlp."}


@dataclass(frozen=True)
class RefitResult:
    """What a refit did: poses cached, validation joint error (degrees) before and after (of the
    head kept), the epoch kept, and the seconds spent caching and fitting."""

    train_poses: int
    val_poses: int
    val_deg_before: float
    val_deg_after: float
    best_epoch: int
    cache_s: float
    fit_s: float


@dataclass(frozen=True)
class PoseStates:
    """What the pose head reads and answers for N cached `<POSE>`s: hidden states (N, hidden),
    the poses they change (N, 24, 3, 3; zeros for none), the true rotations (N, 24, 3, 3) and
    whether each conversation has a picture (N,)."""

    hidden: torch.Tensor
    changed: torch.Tensor
    targets: torch.Tensor
    pictured: torch.Tensor

    def __len__(self) -> int:
        return len(self.hidden)

    def __getitem__(self, rows: torch.Tensor) -> PoseStates:
        return PoseStates(*(t[rows] for t in dataclasses.astuple(self)))


@torch.no_grad()
def cache_pose_states(
    model: PoseGPT,
    source: ConversationSource,
    count: int,
    progress: bool = False,
) -> PoseStates:
    """The `PoseStates` of up to `count` conversations spread evenly over `source` (pictures
    read from the detections the dataset stores, as in training: `EncodedDataset`)."""
    config = model.config
    dataset = EncodedDataset(
        source, model.tokenizer, config, config.max_length, model.image_processor
    )
    batches = evaluation_batches(source, count, CACHE_BATCH)
    parts = []
    loader = make_loader(dataset, batches, model.collate_fn, num_workers=0, seed=0)
    for batch in tqdm(loader, desc="caching <POSE> states", unit="batch", disable=not progress):
        hidden, sources, pictured = model.pose_hidden_states(batch)
        parts.append((hidden.float(), sources, batch["pose_targets"].float(), pictured))
    return PoseStates(*(torch.cat(column) for column in zip(*parts, strict=True)))


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
    part: Literal["head", "gates", "words"] = "head",
    keep: Literal["best", "last"] = "best",
    progress: bool = False,
) -> RefitResult:
    """Train `model.pose_head` (in place) on the cached states of `samples` training
    conversations; keep the epoch whose head is best on `val_samples` validation ones, or the
    last (`keep`). `part`: what is trained, the whole head, its keep gates only, or only the
    MLP that answers in conversations without a picture ("words": needs a photo head, whose
    answers to photos stay as they were; the gates too)."""
    head = model.pose_head
    if part not in PARTS:
        raise InvalidInputError(f"part must be one of {', '.join(PARTS)}, not {part!r}")
    if part == "gates" and head.keep is None:
        raise InvalidInputError(
            "refitting the gates needs a model with keep gates (model.keep_gates)"
        )
    if part == "words" and head.photo_mlp is None:
        raise InvalidInputError(
            "refitting the words' answers needs a photo head (model.photo_head)"
        )
    if keep not in ("best", "last"):
        raise InvalidInputError(f"keep must be 'best' or 'last', not {keep!r}")
    model.eval()
    start = time.perf_counter()
    train = cache_pose_states(model, train_source, samples, progress)
    val = cache_pose_states(model, val_source, val_samples, progress)
    if not len(train) or not len(val):
        raise InvalidInputError("no <POSE> answers in the training or validation conversations")
    cache_s = time.perf_counter() - start
    before = best = _joint_error_deg(head, val)
    kept, best_epoch = copy.deepcopy(head.state_dict()), 0
    trained = [p for name, p in head.named_parameters() if name.startswith(PARTS[part])]
    optimizer = torch.optim.AdamW(trained, lr=lr, weight_decay=0.0)
    order = torch.Generator().manual_seed(seed)
    for epoch in tqdm(range(1, epochs + 1), desc="fitting the pose head", disable=not progress):
        head.train()
        for rows in torch.randperm(len(train), generator=order).split(batch_size):
            optimizer.zero_grad()
            batch = train[rows]
            # as in training: the head's own answers and the gates apart
            _, pose, gates = head_losses(
                head, batch.hidden, batch.changed, batch.targets, batch.pictured
            )
            if part == "gates":
                loss = gates
            elif part == "head" and gates is not None:
                loss = pose + gates
            else:  # the words' MLP, or a head without gates
                loss = pose
            loss.backward()
            optimizer.step()
        error = _joint_error_deg(head, val)
        if error < best or keep == "last":
            best, best_epoch, kept = error, epoch, copy.deepcopy(head.state_dict())
    head.load_state_dict(kept)
    head.eval()
    fit_s = time.perf_counter() - start - cache_s
    return RefitResult(len(train), len(val), before, best, best_epoch, cache_s, fit_s)


@torch.no_grad()
def _joint_error_deg(head: PoseHead, states: PoseStates) -> float:
    """Mean joint rotation error in degrees of the head's answers (gates applied)."""
    head.eval()
    answers = head(states.hidden, states.changed, states.pictured)
    return math.degrees(float(geodesic_distance(answers, states.targets).mean()))
