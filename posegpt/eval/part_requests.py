"""Requests that name body parts, on the test split's poses: does the answer do what was asked?

Each test pose gives one request made by the engine's own tables (`posegpt.synth.part_requests`:
training phrasings, unseen poses), in one of three forms ("Sit down and put your left hand on
your knee.", "seated, left hand on a knee", "Show me someone sitting with the left hand on a
knee."). An answer passes when it holds exactly one pose and that pose's posecodes satisfy
every clause the request named (`satisfied`); "another test pose" (the next item's true pose) is
the chance reference, the true pose 100 by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from posegpt.body.base import BodyModel
from posegpt.body.posecodes import posecodes_batch
from posegpt.eval.everyday.score import ask_all
from posegpt.synth.part_requests import part_request, satisfied

COLUMNS = ("satisfied", "one_pose")
#: The reference row: each request scored on another test pose.
CHANCE = "another test pose (chance)"


@dataclass(frozen=True)
class PartItem:
    """One request (`text`), what it names (`PartRequest.names`) and its pose's row."""

    text: str
    names: tuple[tuple[str, str], ...]
    row: int


def pose_codes(poses: torch.Tensor, body: BodyModel) -> list[dict]:
    """The posecodes of (N, 24, 3, 3) poses."""
    with torch.no_grad():
        return posecodes_batch(body(poses.float()).joints)


def part_items(codes: list[dict], n: int, seed: int) -> list[PartItem]:
    """Up to `n` requests, one per pose (its posecodes `codes`) that has something to name."""
    rng = np.random.default_rng(seed)
    items = []
    for row, pose_codes in enumerate(codes):
        request = part_request(pose_codes, rng)
        if request is None:
            continue
        form = int(rng.integers(3))
        text = (
            request.imp[:1].upper() + request.imp[1:] + "."
            if form == 0
            else request.note
            if form == 1
            else f"Show me someone {request.ger}."
        )
        items.append(PartItem(text, request.names, row))
        if len(items) == n:
            break
    return items


def score_parts(
    method, items: list[PartItem], body: BodyModel, progress: bool = False
) -> dict[str, float]:
    """`COLUMNS` in percent for one method's answers to `items`."""
    answers = ask_all(method, items, progress)
    one = [len(a.poses) == 1 for a in answers]
    given = [k for k, a in enumerate(answers) if one[k]]
    passed = [False] * len(items)
    if given:
        answered = pose_codes(torch.stack([answers[k].poses[0] for k in given]), body)
        for k, codes in zip(given, answered, strict=True):
            passed[k] = satisfied(codes, items[k].names)
    return {"satisfied": 100.0 * np.mean(passed), "one_pose": 100.0 * np.mean(one)}


def chance(items: list[PartItem], codes: list[dict]) -> dict[str, float]:
    """The share of requests that another test pose (the next item's; `codes`: the posecodes
    of the poses the items were made from) satisfies."""
    nxt = [items[(k + 1) % len(items)].row for k in range(len(items))]
    hits = [satisfied(codes[r], item.names) for r, item in zip(nxt, items, strict=True)]
    return {"satisfied": 100.0 * np.mean(hits), "one_pose": 100.0}
