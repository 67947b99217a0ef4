"""Scoring answers to the everyday benchmark.

An item passes when its answer holds exactly the expected number of poses, every predicate of
each pose holds (in order), and, for questions that want no pose, the reply has words. Text/pose
agreement: of the poses answered to requests, the % whose words (`naming.pose_words`) name the
family the family classifier gives the pose (`posegpt bench`: `every_family_classifier`, which
knows every family). All different: of the requests for several poses,
the % answered with several poses that the family classifier puts in different families (the
checks of "three ways of lying down" also hold for three copies of one lying pose; this column
does not).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from tqdm import tqdm

from posegpt.body.base import BodyModel
from posegpt.eval.everyday.items import EverydayItem
from posegpt.eval.everyday.naming import named_family, pose_words

#: Most new tokens of an answer (several poses, each with its words).
REPLY_TOKENS = 160
COLUMNS = (
    "pass",
    "pass_request",
    "pass_multi",
    "pass_other",
    "one_pose",
    "no_pose",
    "multi_count",
    "two_pose",
    "multi_distinct",
    "agreement",
    "named",
)


@dataclass
class Answer:
    """A method's answer to one item: its words (with `<POSE>` markers) and poses, in order."""

    text: str
    poses: list[torch.Tensor]


def ask_all(method, items: Sequence[EverydayItem], progress: bool = False) -> list[Answer]:
    """Each item asked in a fresh conversation: chat methods answer in words and poses; other
    methods (the baselines) answer every text with one pose and no words."""
    texts = [i.text for i in items]
    if not getattr(method, "chats", False):
        poses = method.predict_text(texts, texts)
        return [Answer("", [p]) for p in poses]
    answers = []
    for text in tqdm(texts, desc=f"everyday {method.name}", unit="request", disable=not progress):
        reply = method.ask([{"role": "user", "content": text}], None, REPLY_TOKENS)
        answers.append(Answer(reply.text, list(reply.poses)))
    return answers


def score_everyday(
    items: Sequence[EverydayItem],
    answers: Sequence[Answer],
    body: BodyModel,
    classify: Callable[[torch.Tensor], list[str]] | None = None,
) -> tuple[dict[str, float | None], dict]:
    """The benchmark's metrics (`COLUMNS`, percent) and details: pass rate per form and per
    topic, and every item's outcome. `classify` maps (N, 24, 3, 3) poses to their families
    (no agreement columns without it)."""
    if len(items) != len(answers):
        raise ValueError("need one answer per item")
    rows, named, agreed, pose_total = [], 0, 0, 0
    for item, answer in zip(items, answers, strict=True):
        count_ok = len(answer.poses) == item.poses
        failed = _failed(item, answer, body) if count_ok else []
        passed = count_ok and not failed and (item.poses or bool(answer.text.strip()))
        row = {"id": item.id, "poses": len(answer.poses), "pass": bool(passed), "failed": failed}
        if answer.poses and item.poses and classify is not None:
            families = classify(torch.stack([p.float() for p in answer.poses]))
            said = [named_family(w) for w in pose_words(answer.text)] or [None] * len(families)
            row["families"], row["named"] = families, said
            pose_total += len(families)
            named += sum(s is not None for s in said)
            agreed += sum(s == f for s, f in zip(said, families, strict=False))
        row["reply"] = answer.text
        rows.append(row)
    by = {i.id: i for i in items}

    def share(chosen: Callable[[EverydayItem], bool], ok: Callable[[dict], bool]) -> float | None:
        return _rate({"pass": ok(r)} for r in rows if chosen(by[r["id"]]))

    metrics = {
        "pass": _rate(rows),
        **{
            f"pass_{c}": share(lambda i, c=c: i.category == c, lambda r: r["pass"])
            for c in ("request", "multi", "other")
        },
        "one_pose": share(lambda i: i.category == "request", lambda r: r["poses"] == 1),
        "no_pose": share(lambda i: i.poses == 0, lambda r: r["poses"] == 0),
        "multi_count": share(lambda i: i.poses > 1, lambda r: r["poses"] == by[r["id"]].poses),
        "two_pose": share(lambda i: i.poses == 2, lambda r: r["poses"] == 2),
        "multi_distinct": share(
            lambda i: i.poses > 1,
            lambda r: r["poses"] > 1 and len(set(r["families"])) == len(r["families"]),
        )
        if classify is not None
        else None,
        "agreement": _percent(agreed, pose_total) if classify is not None else None,
        "named": _percent(named, pose_total) if classify is not None else None,
    }
    details = {
        "pass_by_form": _grouped(rows, lambda r: f"{by[r['id']].category}/{by[r['id']].form}"),
        "pass_by_topic": _grouped(rows, lambda r: by[r["id"]].topic),
        "items": rows,
    }
    return metrics, details


def _failed(item: EverydayItem, answer: Answer, body: BodyModel) -> list[str]:
    """The predicates (as "pose k: text") the answer's poses do not satisfy."""
    if not answer.poses:
        return []
    with torch.no_grad():
        joints = body(torch.stack([p.float() for p in answer.poses])).joints
    return [
        f"pose {k + 1}: {p.text}"
        for k, predicates in enumerate(item.predicates)
        for p in predicates
        if not p(joints[k])
    ]


def _rate(rows) -> float | None:
    rows = list(rows)
    return 100.0 * sum(bool(r["pass"]) for r in rows) / len(rows) if rows else None


def _percent(count: int, total: int) -> float | None:
    return 100.0 * count / total if total else None


def _grouped(rows: list[dict], key: Callable[[dict], str]) -> dict[str, float | None]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return {k: _rate(v) for k, v in sorted(groups.items())}
