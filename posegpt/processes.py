"""Work spread over processes: `process_map(function, items, workers)` is `map`, in order, with
`workers` processes each receiving `function` once (so a function that loads a model loads it
once per process, not per item). For work one process runs on one core (BlazePose over a
dataset's pictures); work that torch already spreads over the cores gains nothing from it."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

from posegpt.errors import InvalidInputError

Item, Result = TypeVar("Item"), TypeVar("Result")
#: Items sent to a process at a time.
CHUNK = 8

_function: Callable | None = None  # a worker process's `function`


def available_cores() -> int:
    """The CPU cores this process may run on (Linux: as taskset and containers limit it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def process_map(
    function: Callable[[Item], Result], items: Iterable[Item], workers: int = 1
) -> Iterator[Result]:
    """`function(item)` for each item, in order; with `workers` > 1 in that many fresh (spawned)
    processes, so `function` and the items must pickle. One worker: in this process."""
    if workers < 1:
        raise InvalidInputError(f"workers must be at least 1, got {workers}")
    if workers == 1:
        return map(function, items)
    return _pooled(function, items, workers)


def _pooled(function: Callable, items: Iterable, workers: int) -> Iterator:
    context = multiprocessing.get_context("spawn")  # no forked copy of this process's threads
    with ProcessPoolExecutor(workers, context, _receive, (function,)) as pool:
        yield from pool.map(_call, items, chunksize=CHUNK)


def _receive(function: Callable) -> None:
    global _function
    _function = function


def _call(item: object) -> object:
    assert _function is not None, "_receive runs first in every worker"
    return _function(item)
