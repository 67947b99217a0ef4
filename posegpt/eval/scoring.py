"""Scoring one method on one benchmark: predictions, then metrics (means over the items).

Pose errors use one body model for prediction and ground truth (`pose_errors`); retrieval
recalls use the trained retrieval evaluator (`evaluate_retrieval`), each generated pose paired
with its item's reference text.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from posegpt.body.base import BodyModel
from posegpt.eval.baselines.base import Method
from posegpt.eval.family_classifier import FamilyClassifier
from posegpt.eval.items import ImageSet, TextSet
from posegpt.eval.metrics import SMPL24, JointSet, pose_errors
from posegpt.eval.retrieval import RetrievalModel, evaluate_retrieval
from posegpt.eval.right_person import right_person_rates

POSE_METRICS = ("mpjpe", "pa_mpjpe", "mpjre")
RETRIEVAL_METRICS = tuple(f"{d}_R@{k}" for d in ("t2p", "p2t") for k in (5, 10, 20)) + ("mean",)
#: Items timed one at a time, and the largest batch timed, by `measure_speed`.
SPEED_SINGLE, SPEED_BATCH = 8, 32


@dataclass
class Scored:
    """A method's metrics on a benchmark, its predictions and the seconds they took."""

    metrics: dict[str, float]
    poses: torch.Tensor
    seconds: float
    pose_counts: list[int] = field(default_factory=list)


def mean_pose_errors(pred: torch.Tensor, gt: torch.Tensor, body: BodyModel) -> dict[str, float]:
    """Mean MPJPE, PA-MPJPE (mm) and MPJRE (x100) over the items."""
    errors = pose_errors(pred, gt, body)
    return {k: float(errors[k].mean()) for k in POSE_METRICS}


def score_text(
    method: Method,
    items: TextSet,
    body: BodyModel,
    evaluator: RetrievalModel | None,
    gallery: int | None = None,
    seed: int = 0,
    families: FamilyClassifier | None = None,
) -> Scored:
    """Text -> pose: retrieval recalls of the generated poses against the reference texts, pose
    errors against the true poses, and with `families` and known item families, the % of
    generated poses in the item's family ("family_acc")."""
    start = time.perf_counter()
    poses = method.predict_text(items.texts, items.prompts)
    seconds = time.perf_counter() - start
    metrics = mean_pose_errors(poses, items.poses, body)
    if evaluator is not None and len(items) > 1:
        metrics.update(
            retrieval_metrics(evaluator, items.references or items.texts, poses, gallery, seed)
        )
    metrics.update(right_person_rates(poses, items, body))
    if families is not None and items.families is not None:
        metrics["family_acc"] = families.accuracy(poses, items.families)
    return Scored(metrics, poses, seconds, list(getattr(method, "pose_counts", [])))


def retrieval_metrics(
    evaluator: RetrievalModel,
    texts: Sequence[str],
    poses: torch.Tensor,
    gallery: int | None,
    seed: int,
) -> dict[str, float]:
    """The recalls of `evaluate_retrieval`, without its bookkeeping entries."""
    recalls = evaluate_retrieval(evaluator, list(texts), poses, gallery, seed)
    return {k: v for k, v in recalls.items() if k in RETRIEVAL_METRICS}


def predict_images(method: Method, items: ImageSet) -> torch.Tensor:
    """The method's poses for every item; a method that reads no description answers once per
    picture (`items.groups`) and its answer is shared by the picture's items."""
    if method.reads_descriptions or items.groups is None:
        return method.predict_image(items.images, items.descriptions, items.prompts, items.people)
    first: dict[str, int] = {}
    for row, group in enumerate(items.groups):
        first.setdefault(group, row)
    unique = items.subset(list(first.values()))
    pred = method.predict_image(unique.images, None, None, unique.people)
    slot = {group: k for k, group in enumerate(first)}
    return pred[[slot[g] for g in items.groups]]


def score_image(
    method: Method,
    items: ImageSet,
    body: BodyModel,
    families: FamilyClassifier | None = None,
    joint_set: JointSet = SMPL24,
) -> Scored:
    """Image -> pose: `image_metrics` of the method's poses."""
    start = time.perf_counter()
    poses = predict_images(method, items)
    seconds = time.perf_counter() - start
    metrics = image_metrics(poses, items, body, families, joint_set)
    return Scored(metrics, poses, seconds, list(getattr(method, "pose_counts", [])))


def image_metrics(
    poses: torch.Tensor,
    items: ImageSet,
    body: BodyModel,
    families: FamilyClassifier | None = None,
    joint_set: JointSet = SMPL24,
) -> dict[str, float]:
    """Pose errors of `poses` on `joint_set`; with description kinds (RPE), also per kind
    ("<metric>_<kind>") and the plain metrics averaged over the kinds; with `families` and
    known item families, the % of poses in the item's family ("family_acc"); on RPE pictures
    of several people, the % of answers nearest the described person ("right_person")."""
    errors = pose_errors(poses, items.poses, body, joint_set)
    if items.kinds is None:
        metrics = {k: float(errors[k].mean()) for k in POSE_METRICS}
    else:
        metrics = {}
        kinds = sorted(set(items.kinds))
        for kind in kinds:
            rows = torch.tensor([k == kind for k in items.kinds])
            metrics.update({f"{m}_{kind}": float(errors[m][rows].mean()) for m in POSE_METRICS})
        for m in POSE_METRICS:
            metrics[m] = sum(metrics[f"{m}_{kind}"] for kind in kinds) / len(kinds)
    metrics.update(right_person_rates(poses, items, body))
    if families is not None and items.families is not None:
        metrics["family_acc"] = families.accuracy(poses, items.families)
    return metrics


def measure_speed(
    method: Method, text: TextSet | None, crops: ImageSet | None
) -> dict[str, float] | None:
    """Milliseconds per pose answering one request at a time ("ms_per_pose"), and poses per
    second answering up to SPEED_BATCH requests in one call ("poses_per_s"); on text requests
    if the method takes them, else on crops. None if it takes neither. One untimed answer
    comes first, so that what is loaded on first use (by the method, or shared by all and so
    charged to the first of a run) is not timed."""
    if "text2pose" in method.tasks and text is not None:
        items: TextSet | ImageSet = text
    elif "image2pose" in method.tasks and crops is not None:
        items = crops
    else:
        return None
    n = len(items)
    _answer(method, items, [0])  # warm-up, untimed
    single = list(range(min(SPEED_SINGLE, n)))
    start = time.perf_counter()
    for i in single:
        _answer(method, items, [i])
    per_pose = (time.perf_counter() - start) / len(single)
    batch = list(range(min(SPEED_BATCH, n)))
    start = time.perf_counter()
    _answer(method, items, batch)
    return {
        "ms_per_pose": 1000.0 * per_pose,
        "poses_per_s": len(batch) / max(time.perf_counter() - start, 1e-9),
        "batch": float(len(batch)),
    }


def _answer(method: Method, items: TextSet | ImageSet, rows: list[int]) -> torch.Tensor:
    chosen = items.subset(rows)
    if isinstance(chosen, TextSet):
        return method.predict_text(chosen.texts, chosen.prompts)
    return predict_images(method, chosen)
