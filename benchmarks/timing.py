"""Shared timing helper for the benchmark scripts (run them as `python benchmarks/NAME.py`)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence

import torch


def median_ms(runs: Sequence[Callable[[], object]], backward: bool, repeats: int) -> list[float]:
    """Median wall time of each `run()` (with a backward pass through its outputs), in ms.

    The runs take turns, so that load from other processes hits them alike.
    """

    def step(run: Callable[[], object]) -> float:
        start = time.perf_counter()
        with torch.set_grad_enabled(backward):
            out = run()
            if backward:
                (out.vertices.square().sum() + out.joints.square().sum()).backward()
        return time.perf_counter() - start

    for run in runs:
        step(run)  # warm-up
    times = [[step(run) for run in runs] for _ in range(repeats)]
    return [1000 * statistics.median(column) for column in zip(*times, strict=True)]
