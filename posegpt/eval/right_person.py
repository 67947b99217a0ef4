"""RPE's right-person rate: how often the answer is the described person's pose rather than
someone else's in the same picture.

An answer counts as the right person when its PA-MPJPE to the described person's true pose is
the lowest among the true poses of the people of its picture that the test set describes.
Only items whose picture shows at least two such people count (with one, any answer is right).
"""

from __future__ import annotations

from collections import defaultdict

import torch

from posegpt.body.base import BodyModel
from posegpt.eval.items import ImageSet, TextSet
from posegpt.eval.metrics import pa_mpjpe


def candidates(items: ImageSet | TextSet) -> dict[int, list[int]]:
    """Item -> rows of the distinct people of its picture (one row each), for the items whose
    picture has at least two people; empty without groups or kinds (not RPE)."""
    if getattr(items, "groups", None) is None or getattr(items, "kinds", None) is None:
        return {}
    rows_of: dict[str, list[int]] = defaultdict(list)
    for row, group in enumerate(items.groups):
        rows_of[group].append(row)
    out = {}
    for rows in rows_of.values():
        people: list[int] = []
        for row in rows:
            if not any(torch.equal(items.poses[row], items.poses[p]) for p in people):
                people.append(row)
        if len(people) >= 2:
            out.update({row: people for row in rows})
    return out


@torch.no_grad()
def right_person_rates(poses: torch.Tensor, items: ImageSet, body: BodyModel) -> dict[str, float]:
    """% right person overall ("right_person", the mean over kinds) and per description kind
    ("right_person_<kind>"); empty when no item qualifies."""
    choices = candidates(items)
    if not choices:
        return {}
    rows = sorted(choices)
    predicted = body(poses[rows]).joints
    truth = body(items.poses).joints
    hits: dict[str, list[bool]] = defaultdict(list)
    for answer, row in zip(predicted, rows, strict=True):
        people = choices[row]
        errors = pa_mpjpe(answer.expand(len(people), -1, -1), truth[people])
        best = people[int(errors.argmin())]
        hits[items.kinds[row]].append(torch.equal(items.poses[best], items.poses[row]))
    out = {f"right_person_{k}": 100.0 * sum(v) / len(v) for k, v in sorted(hits.items())}
    out["right_person"] = sum(out.values()) / len(out)
    return out
