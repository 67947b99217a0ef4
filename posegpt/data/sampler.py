"""The mixing sampler: batches whose tasks follow fixed proportions, deterministically.

The paper mixes image->pose : text->pose : instruction data 2 : 1 : 1 in every batch. Here the
top-level `groups` weights split each batch between groups of tasks, and `sub_weights` split a
group between its tasks (SPG counts within text->pose, RPE within image->pose). Tasks with no
items drop out and the others share their slots. Slots are apportioned batch by batch so that
the running totals stay within one item of the exact proportions, whatever the batch size.
Within a task, items are drawn without replacement, reshuffled at every pass.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

import numpy as np

from posegpt.data.splits import stream
from posegpt.errors import InvalidInputError

#: Group weights (the paper's 2 : 1 : 1, and the tasks that read poses).
DEFAULT_GROUPS: Mapping[str, float] = {
    "image2pose": 2.0,
    "text2pose": 1.0,
    "instruction": 1.0,
    "pose_input": 1.0,
}
#: Task weights within each group.
DEFAULT_SUB_WEIGHTS: Mapping[str, Mapping[str, float]] = {
    "image2pose": {"image2pose": 3.0, "rpe": 1.0},
    "text2pose": {"text2pose": 3.0, "speculative": 1.0},
    "instruction": {"instruction": 1.0},
    "pose_input": {"pose_input": 1.0, "pose2text": 0.0},
}
MAX_BATCH_SIZE = 65_536


def task_weights(
    sizes: Mapping[str, int],
    groups: Mapping[str, float] = DEFAULT_GROUPS,
    sub_weights: Mapping[str, Mapping[str, float]] = DEFAULT_SUB_WEIGHTS,
) -> dict[str, float]:
    """The share of each task in a batch (summing to 1), over the tasks that have items."""
    shares: dict[str, float] = {}
    for group, weight in groups.items():
        within = sub_weights.get(group, {group: 1.0})
        if weight < 0 or any(w < 0 for w in within.values()):
            raise InvalidInputError(f"weights must not be negative (group {group!r})")
        present = {t: w for t, w in within.items() if sizes.get(t, 0) > 0 and w > 0}
        if weight > 0 and present:
            total = sum(present.values())
            for task, w in present.items():
                shares[task] = shares.get(task, 0.0) + weight * w / total
    total = sum(shares.values())
    if total <= 0:
        raise InvalidInputError(f"no task with a positive weight has items: sizes {dict(sizes)}")
    return {t: s / total for t, s in shares.items()}


def apportion(total: int, shares: Mapping[str, float], given: Mapping[str, int]) -> dict[str, int]:
    """Split `total` new slots so that given + new stays closest to the shares of the running
    total (largest remainder; ties go to the task listed first)."""
    target = sum(given.values()) + total
    ideal = {t: s * target - given.get(t, 0) for t, s in shares.items()}
    counts = {t: max(0, math.floor(v)) for t, v in ideal.items()}
    left = total - sum(counts.values())
    order = sorted(shares, key=lambda t: -(ideal[t] - counts[t]))
    for i in range(left):
        counts[order[i % len(order)]] += 1
    while sum(counts.values()) > total:  # only when some task was far ahead (clamped at 0)
        counts[max(counts, key=lambda t: counts[t] - ideal[t])] -= 1
    return counts


class MixtureSampler:
    """Yields batches (lists of indices into a dataset whose tasks occupy `offsets` ranges).

    sizes: items per task; offsets: first dataset index of each task (default: tasks laid end to
    end in `sizes` order); num_batches: batches per epoch (default: enough for every item once
    on average). Usable as a DataLoader `batch_sampler`; call `set_epoch` between epochs.
    """

    def __init__(
        self,
        sizes: Mapping[str, int],
        batch_size: int,
        seed: int = 0,
        groups: Mapping[str, float] = DEFAULT_GROUPS,
        sub_weights: Mapping[str, Mapping[str, float]] = DEFAULT_SUB_WEIGHTS,
        offsets: Mapping[str, int] | None = None,
        num_batches: int | None = None,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise InvalidInputError(f"batch_size must be 1..{MAX_BATCH_SIZE}, got {batch_size}")
        if any(n < 0 for n in sizes.values()):
            raise InvalidInputError(f"task sizes must not be negative: {dict(sizes)}")
        self.sizes = dict(sizes)
        self.batch_size = batch_size
        self.seed = seed
        self.shares = task_weights(sizes, groups, sub_weights)
        if offsets is None:
            starts = np.cumsum([0, *self.sizes.values()])
            offsets = dict(zip(self.sizes, starts.tolist(), strict=False))
        self.offsets = dict(offsets)
        total = sum(self.sizes[t] for t in self.shares)
        self.num_batches = num_batches or max(1, math.ceil(total / batch_size))
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw a different (still deterministic) sequence of batches."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.num_batches

    def __iter__(self) -> Iterator[list[int]]:
        draws = {
            t: _Cycle(self.sizes[t], stream(self.seed, f"{self.epoch}/{t}")) for t in self.shares
        }
        order_rng = stream(self.seed, f"{self.epoch}/order")
        given = dict.fromkeys(self.shares, 0)
        for _ in range(self.num_batches):
            counts = apportion(self.batch_size, self.shares, given)
            batch = []
            for task, count in counts.items():
                given[task] += count
                batch.extend(self.offsets[task] + i for i in draws[task].take(count))
            yield [batch[i] for i in order_rng.permutation(len(batch))]


class _Cycle:
    """Endless draws without replacement from range(n), reshuffled every pass."""

    def __init__(self, n: int, rng: np.random.Generator) -> None:
        self.n, self.rng = n, rng
        self.order = rng.permutation(n)
        self.pos = 0

    def take(self, count: int) -> list[int]:
        out = []
        while len(out) < count:
            if self.pos == self.n:
                self.order, self.pos = self.rng.permutation(self.n), 0
            step = min(count - len(out), self.n - self.pos)
            out.extend(self.order[self.pos : self.pos + step].tolist())
            self.pos += step
        return out
