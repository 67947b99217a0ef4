"""Training the person chooser (`posegpt.model.pose_tower.chooser`) on a dataset's pictures.

Examples: each RPE row (a person in a scene of several, described five ways) asked with the
split's RPE question templates, its target the stored detection whose keypoints match the
person's (COCO OKS >= MATCH_OKS; rows whose person was not detected are left out); and each
crop in which the tower finds more than one person, asked the split's photo questions, its target
the largest (the person the crop is of, as the model reads crops). Features come from the
dataset's stored detections (`posegpt data tower`) and the picture's colours.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from posegpt.data.dataset import CROP_KEEP_KEY, CROP_KEY
from posegpt.data.formats import read_hmr
from posegpt.data.templates import image2pose_question, rpe_question
from posegpt.errors import InvalidInputError
from posegpt.images import load_image
from posegpt.model.pose_tower.cache import read_cache
from posegpt.model.pose_tower.chooser import PersonChooser, request_words
from posegpt.model.pose_tower.features import chosen, tower_features
from posegpt.model.pose_tower.landmarks import COCO17_LANDMARKS, MATCH_OKS, oks
from posegpt.model.text_embedder import SentenceEmbedder

#: The description kinds of RPE rows (`description_<kind>` columns).
KINDS = ("behaviour", "outfit", "pose", "shape", "summary")
#: The kind of the examples made from crops.
CROP_KIND = "photo"


@dataclass
class ChooserExamples:
    """People (P, slots, FEATURE_DIM + COLOUR_DIM) of P pictures; per example its picture,
    target slot, request and description kind."""

    people: torch.Tensor
    picture: list[int] = field(default_factory=list)
    target: list[int] = field(default_factory=list)
    request: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)


def chooser_examples(
    root: str | Path, split: str, slots: int, bundle: str = "lite", progress: bool = True
) -> ChooserExamples:
    """The examples of a dataset split (see the module docstring); needs its tower cache."""
    root = Path(root)
    stored = read_cache(root, bundle)
    if not stored:
        raise InvalidInputError(f"{root} has no stored detections: run `posegpt data tower`")
    hmr = read_hmr(root / "image2pose" / f"{split}.npz")
    extras, keypoints = hmr.extras, hmr.coco17()
    needed = ["num_people", CROP_KEY, CROP_KEEP_KEY, *(f"description_{k}" for k in KINDS)]
    if any(key not in extras for key in needed):
        raise InvalidInputError(
            f"{root} has no RPE descriptions of scenes with several people (`posegpt data synth "
            "--scenes N` writes them)"
        )
    rng = np.random.default_rng(0)
    scenes: dict[str, list[int]] = {}
    for row, name in enumerate(hmr.imgname):
        if int(extras["num_people"][row]) >= 2:
            scenes.setdefault(str(name), []).append(row)
    crops = sorted(
        str(name)
        for name, keep in zip(extras[CROP_KEY], extras[CROP_KEEP_KEY], strict=True)
        if keep > 0 and len(stored.get(f"images/{name}", [])) >= 2
    )
    people, out = [], ChooserExamples(torch.empty(0))
    for name in tqdm([*scenes, *crops], disable=not progress, desc=f"chooser {split} pictures"):
        found = chosen(stored.get(f"images/{name}", []), slots)
        if name in scenes and not found:
            continue
        picture = np.asarray(load_image(root / "images" / name))
        people.append(tower_features(found, slots, picture))
        if name not in scenes:  # a crop: the person it is of
            out.picture.append(len(people) - 1)
            out.target.append(0)
            out.request.append(request_words(image2pose_question(rng, split)))
            out.kind.append(CROP_KIND)
            continue
        size = np.array(picture.shape[1::-1], np.float32)
        marks = [p.landmarks[list(COCO17_LANDMARKS), :2] * size for p in found]
        for row in scenes[name]:
            similarity = [oks(m, keypoints[row]) for m in marks]
            if max(similarity) < MATCH_OKS:
                continue
            for kind in KINDS:
                out.picture.append(len(people) - 1)
                out.target.append(int(np.argmax(similarity)))
                out.request.append(
                    request_words(rpe_question(str(extras[f"description_{kind}"][row]), rng, split))
                )
                out.kind.append(kind)
    out.people = torch.stack(people) if people else torch.empty(0)
    return out


def joined(parts: Sequence[ChooserExamples]) -> ChooserExamples:
    """The examples of several datasets as one."""
    out = ChooserExamples(torch.cat([p.people for p in parts]))
    offset = 0
    for part in parts:
        out.picture += [i + offset for i in part.picture]
        out.target += part.target
        out.request += part.request
        out.kind += part.kind
        offset += len(part.people)
    return out


@dataclass
class ChooserResult:
    """Per description kind, the share of validation examples whose person was chosen (%), and
    the share the largest person would get."""

    val_accuracy: dict[str, float]
    val_largest: dict[str, float]
    epoch: int


def _accuracy(
    chooser: PersonChooser, people: torch.Tensor, embedded: torch.Tensor, data: ChooserExamples
) -> dict[str, float]:
    with torch.no_grad():
        picks = chooser(embedded, people[data.picture]).argmax(1).tolist()
    return _by_kind([p == t for p, t in zip(picks, data.target, strict=True)], data.kind)


def _by_kind(hits: Sequence[bool], kinds: Sequence[str]) -> dict[str, float]:
    out = {}
    for kind in dict.fromkeys(kinds):
        mine = [h for h, k in zip(hits, kinds, strict=True) if k == kind]
        out[kind] = 100.0 * sum(mine) / len(mine)
    return out


def train_chooser(
    train: ChooserExamples,
    val: ChooserExamples,
    embedder: SentenceEmbedder,
    epochs: int = 60,
    lr: float = 1e-3,
    seed: int = 0,
    confidence: float = 0.0,
    progress: bool = True,
) -> tuple[PersonChooser, ChooserResult]:
    """A chooser trained on `train` (AdamW, batches of 64); the epoch with the best mean
    validation accuracy over kinds is kept."""
    if not train.target or not val.target:
        raise InvalidInputError("the chooser needs training and validation examples")
    torch.manual_seed(seed)
    requests = embedder.embed(train.request, progress=progress)
    val_requests = embedder.embed(val.request, progress=progress)
    chooser = PersonChooser(requests.shape[1], confidence=confidence)
    optimiser = torch.optim.AdamW(chooser.parameters(), lr=lr, weight_decay=1e-2)
    targets, pictures = torch.tensor(train.target), torch.tensor(train.picture)
    order = torch.Generator().manual_seed(seed)
    best, kept, best_epoch = -1.0, None, 0
    for epoch in tqdm(range(1, epochs + 1), disable=not progress, desc="chooser epochs"):
        chooser.train()
        for rows in torch.randperm(len(targets), generator=order).split(64):
            scores = chooser(requests[rows], train.people[pictures[rows]])
            loss = torch.nn.functional.cross_entropy(scores, targets[rows])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        chooser.eval()
        accuracy = _accuracy(chooser, val.people, val_requests, val)
        if sum(accuracy.values()) / len(accuracy) > best:
            best, kept, best_epoch = sum(accuracy.values()) / len(accuracy), accuracy, epoch
            state = copy.deepcopy(chooser.state_dict())
    chooser.load_state_dict(state)
    largest = _by_kind([t == 0 for t in val.target], val.kind)
    return chooser.eval(), ChooserResult(kept, largest, best_epoch)
