"""The everyday benchmark's items, read and checked from `requests.jsonl`, and its photo
requests (`photo_requests.txt`: one request a line, asked with a photo of one person)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from posegpt.errors import InvalidInputError
from posegpt.eval.predicates import Predicate, parse

REQUESTS_FILE = Path(__file__).with_name("requests.jsonl")
#: A development set in the same format, written apart from both the test set and the training
#: templates: the one to look at and tune on, so that the test set stays unseen.
DEV_REQUESTS_FILE = Path(__file__).with_name("dev_requests.jsonl")
#: A second, fresh development set (written 2026-12-05, apart from the others and the templates):
#: the first has been tuned on for many stages and no longer predicts the test set.
DEV2_REQUESTS_FILE = Path(__file__).with_name("dev2_requests.jsonl")
#: A third development set, of 30 several-pose requests only (written 2026-12-07, apart from the
#: others and the templates): dev and dev2's several-pose requests get the right number of poses
#: far more often (95-100%) than the test set's (70%); these as rarely (57%).
DEV3_REQUESTS_FILE = Path(__file__).with_name("dev3_requests.jsonl")
#: A fourth development set of every category (written 2026-12-07, session 23, apart from the
#: others and the templates): 50 single-pose, 35 several-pose and 40 no-pose requests.
DEV4_REQUESTS_FILE = Path(__file__).with_name("dev4_requests.jsonl")
#: A 12-request development probe of the kneeling families the posture fix changed (seiza,
#: child's pose, rowing), written apart from the other sets and the templates.
KNEELING_PROBE_FILE = Path(__file__).with_name("kneeling_probe.jsonl")
PHOTO_REQUESTS_FILE = Path(__file__).with_name("photo_requests.txt")
#: A development set of 48 photo requests (written 2026-12-07, session 24, apart from the held-out
#: ones and the templates), the ones to tune on.
PHOTO_DEV_REQUESTS_FILE = Path(__file__).with_name("photo_dev_requests.txt")
PHOTO_FILES = {"test": PHOTO_REQUESTS_FILE, "dev": PHOTO_DEV_REQUESTS_FILE}
NAMED_FILES = {
    "test": REQUESTS_FILE,
    "dev": DEV_REQUESTS_FILE,
    "dev2": DEV2_REQUESTS_FILE,
    "dev3": DEV3_REQUESTS_FILE,
    "dev4": DEV4_REQUESTS_FILE,
    "kneeling": KNEELING_PROBE_FILE,
}
CATEGORIES = ("request", "multi", "other")
#: Most poses one item may expect.
MAX_POSES = 6


@dataclass(frozen=True)
class EverydayItem:
    """One request: what is asked, how many poses the answer must hold and, per pose in
    order, the predicates that pose must satisfy."""

    id: str
    category: str
    form: str
    topic: str
    text: str
    poses: int
    predicates: tuple[tuple[Predicate, ...], ...]


def load_everyday(path: str | Path | None = None) -> list[EverydayItem]:
    """The benchmark's items (default: the packaged `requests.jsonl`), every predicate parsed."""
    path = Path(path) if path is not None else REQUESTS_FILE
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            items.append(_item(json.loads(line), f"{path}:{number}"))
    ids = [i.id for i in items]
    if len(set(ids)) != len(ids):
        raise InvalidInputError(f"{path}: item ids must be unique")
    return items


def everyday_file(choice: str | None) -> Path:
    """The items file named by `choice`: None or "test" the held-out test set, "dev", "dev2",
    "dev3" and "dev4" the development sets, "kneeling" the kneeling probe, anything else a path
    to an existing file."""
    if choice is None or choice in NAMED_FILES:
        return NAMED_FILES[choice or "test"]
    path = Path(choice)
    if not path.is_file():
        names = ", ".join(f"'{name}'" for name in NAMED_FILES)
        raise InvalidInputError(f"no everyday items file at {path} (or say one of {names})")
    return path


def photo_file(choice: str) -> Path:
    """The photo requests file named by `choice`: "test" (held out) or "dev"."""
    if choice not in PHOTO_FILES:
        raise InvalidInputError(f"photo requests must be one of {', '.join(PHOTO_FILES)}")
    return PHOTO_FILES[choice]


def load_photo_requests(path: Path = PHOTO_REQUESTS_FILE) -> list[str]:
    """Requests for the pose of the person in a photo, in everyday words, one a line (default:
    the held-out set)."""
    return [line.strip() for line in path.read_text("utf-8").splitlines() if line.strip()]


def _item(row: dict, where: str) -> EverydayItem:
    try:
        item = EverydayItem(
            id=str(row["id"]),
            category=str(row["category"]),
            form=str(row["form"]),
            topic=str(row["topic"]),
            text=str(row["text"]),
            poses=int(row["poses"]),
            predicates=tuple(tuple(parse(p) for p in pose) for pose in row["predicates"]),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise InvalidInputError(f"{where}: malformed item ({err})") from err
    expected = {"request": (1, 1), "multi": (2, MAX_POSES), "other": (0, 0)}.get(item.category)
    if expected is None:
        raise InvalidInputError(f"{where}: category must be one of {', '.join(CATEGORIES)}")
    if not expected[0] <= item.poses <= expected[1] or len(item.predicates) != item.poses:
        raise InvalidInputError(f"{where}: {item.category} needs one predicate list per pose")
    return item


def subset(items: list[EverydayItem], max_items: int | None) -> list[EverydayItem]:
    """At most `max_items` items per category, taken in turn from each form (so that a short
    run still asks every form), in file order within a form."""
    if max_items is None:
        return list(items)
    chosen: list[EverydayItem] = []
    for category in CATEGORIES:
        forms: dict[str, list[EverydayItem]] = {}
        for item in items:
            if item.category == category:
                forms.setdefault(item.form, []).append(item)
        queues = list(forms.values())
        taken = 0
        while taken < max_items and any(queues):
            for queue in queues:
                if queue and taken < max_items:
                    chosen.append(queue.pop(0))
                    taken += 1
    return chosen
