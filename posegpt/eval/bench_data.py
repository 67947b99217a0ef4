"""The benchmark's data: training / validation pairs for the methods and the held-out test sets,
from a posegpt dataset folder (`posegpt data synth`, or real data in its layouts) and from real
test sets in their own formats (PoseScript layout + AMASS, HMR npz).

Test items are worded as `PoseDataset` words them for its test split (held-out question
templates); the SPG retrieval texts are descriptions of the true poses written by the
captioner (see `posegpt.eval.bench`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import torch
from PIL import Image

from posegpt.body.rotations import camera_to_y_up
from posegpt.data.dataset import (
    ABSENT_KEY,
    CROP_KEEP_KEY,
    DESCRIPTION_PREFIX,
    IMAGE2POSE_DIR,
    PoseDataset,
    face_forward,
)
from posegpt.data.formats import HmrData, read_hmr
from posegpt.data.images import crop_square, open_image
from posegpt.data.splits import stream
from posegpt.data.templates import image2pose_question, text2pose_question
from posegpt.errors import InvalidInputError, ModelFileError
from posegpt.eval.items import ImageSet, LazyImages, TextSet, TrainData
from posegpt.eval.retrieval import TextPosePairs, read_text_pose_pairs
from posegpt.model.request_hints import one_pose_requests
from posegpt.records import Conversation

#: The splits a benchmark may read its items from: the held-out one, or the development one.
BENCH_SPLITS = ("test", "val")
#: The SPG splits each bench split reads: unseen situations and wordings, and (test only) seen
#: situations in unseen wordings.
SPG_SPLITS = {"test": {"spg": "test", "spg_seen": "test_seen"}, "val": {"spg": "val"}}

#: caption(pose (24, 3, 3), seed) -> a description of the pose.
Caption = Callable[[torch.Tensor, int], str]


@dataclass
class BenchData:
    """Training data and the test sets. `real` holds named real test sets; `retrieval_pairs`
    the text-pose pairs (by split) the retrieval evaluator learns from."""

    train: TrainData
    text2pose: TextSet | None = None
    spg: dict[str, TextSet] = field(default_factory=dict)
    crops: ImageSet | None = None
    partial_crops: ImageSet | None = None  # crops of people only partly in the picture
    rpe: ImageSet | None = None
    absent: list[Conversation] = field(default_factory=list)  # RPE: someone not in the picture
    instructions: list[Conversation] = field(default_factory=list)
    load_image: Callable[[Conversation], Image.Image | None] | None = None
    retrieval_pairs: dict[str, TextPosePairs] = field(default_factory=dict)
    real: dict[str, TextSet | ImageSet] = field(default_factory=dict)


def pick_rows(n: int, limit: int | None, seed: int, salt: str) -> list[int]:
    """All rows, or `limit` of them drawn at random (seeded), in order."""
    if limit is None or n <= limit:
        return list(range(n))
    return sorted(int(i) for i in stream(seed, salt).choice(n, size=limit, replace=False))


def load_bench_data(
    root: str | os.PathLike,
    caption: Caption,
    seed: int = 0,
    max_items: int | None = None,
    max_train: int | None = None,
    split: str = "test",
) -> BenchData:
    """Everything the benchmark needs from the dataset folder `root`. `caption(pose, seed)`
    describes a pose (the SPG retrieval texts); `max_items` caps each test set (RPE: people,
    each with all descriptions), `max_train` each training set (random, seeded subsets).
    `split` "val" takes the items from the development split instead of the held-out one; SPG,
    whose test splits are its own (unseen situations and wordings), is then left out."""
    if split not in BENCH_SPLITS:
        raise InvalidInputError(f"split must be one of {', '.join(BENCH_SPLITS)}, got {split!r}")
    root = Path(root)
    if not root.is_dir():
        raise ModelFileError(f"dataset folder {root} does not exist")
    text_tasks = ("text2pose", "speculative")
    text_train = PoseDataset(root, "train", seed, text_tasks)
    train = TrainData(
        text=_text_train(text_train, seed, max_train, all_texts=True),
        text_val=_text_train(PoseDataset(root, "val", seed, text_tasks), seed, max_train, False),
        requests=_requests(PoseDataset(root, "train", seed, ("instruction",)), seed, max_train),
        crops=_crops(PoseDataset(root, "train", seed, ("image2pose",)), max_train, seed),
        crops_val=_crops(PoseDataset(root, "val", seed, ("image2pose",)), max_train, seed),
    )
    test = PoseDataset(root, split, seed, ("text2pose", "image2pose", "rpe", "instruction"))
    data = BenchData(
        train,
        text2pose=_text2pose(test, max_items, seed),
        crops=_crops(test, max_items, seed),
        partial_crops=_crops(test, max_items, seed, partial=True),
        rpe=_rpe(test, max_items, seed),
        absent=_subset(_absent(test), max_items, seed, "rpe/absent"),
        instructions=_subset(test.items["instruction"], max_items, seed, "instruction"),
        load_image=test.load_image,
    )
    for name, spg_split in SPG_SPLITS[split].items():
        spg = PoseDataset(root, spg_split, seed, ("speculative",)).items["speculative"]
        if spg:
            data.spg[name] = _spg(_subset(spg, max_items, seed, name), caption, seed, name)
    try:
        data.retrieval_pairs = read_text_pose_pairs(root)
    except ModelFileError:
        data.retrieval_pairs = {}
    return data


def _subset(items: list, limit: int | None, seed: int, salt: str) -> list:
    return [items[i] for i in pick_rows(len(items), limit, seed, salt)]


def _none_if_empty(items: TextSet | ImageSet) -> TextSet | ImageSet | None:
    return items if len(items) else None


def _requests(data: PoseDataset, seed: int, limit: int | None) -> TextSet | None:
    """The words-only instruction conversations of a split whose one request is answered with
    one pose: (request, pose) pairs."""
    subset = _subset(data.items["instruction"], limit, seed, f"requests/{data.split}")
    texts, poses = one_pose_requests(subset)
    return TextSet(texts, torch.stack(poses)) if texts else None


def _text_train(data: PoseDataset, seed: int, limit: int | None, all_texts: bool) -> TextSet | None:
    """Text->pose pairs of a split's text2pose and speculative tasks: each pose with every
    text (or its first), and the SPG queries with their poses."""
    split = data.split
    texts, poses = [], []
    for pose_id in _subset(data.items["text2pose"], limit, seed, f"train/{split}/text"):
        pose_texts = data.text.texts(pose_id)
        for text in pose_texts if all_texts else pose_texts[:1]:
            texts.append(text)
            poses.append(data.text.pose(pose_id))
    for conversation in _subset(data.items["speculative"], limit, seed, f"train/{split}"):
        texts.append(conversation.messages[0].content)
        poses.append(conversation.poses[0])
    if not texts:
        return None
    return TextSet(texts, torch.stack(poses))


def _text2pose(data: PoseDataset, limit: int | None, seed: int) -> TextSet | None:
    start = data.offsets["text2pose"]
    texts, prompts, poses = [], [], []
    for i in pick_rows(data.sizes["text2pose"], limit, seed, "test/text2pose"):
        conversation = data[start + i]
        texts.append(data.text.texts(conversation.meta["id"])[0])
        prompts.append(conversation.messages[0].content)
        poses.append(conversation.poses[0])
    if not texts:
        return None
    return TextSet(texts, torch.stack(poses), prompts, list(texts))


def _spg(
    conversations: list[Conversation], caption: Caption | None, seed: int, name: str
) -> TextSet:
    """SPG queries with their poses, families (when all are known) and, given `caption`,
    descriptions of the poses (what retrieval scores against)."""
    queries = [c.messages[0].content for c in conversations]
    poses = torch.stack([c.poses[0] for c in conversations])
    described = None
    if caption is not None:
        described = [
            caption(pose, int(stream(seed, f"bench/{name}/{i}").integers(2**31)))
            for i, pose in enumerate(poses)
        ]
    families = [c.meta.get("family") for c in conversations]
    return TextSet(queries, poses, queries, described, None if None in families else families)


def _crops(
    data: PoseDataset, limit: int | None, seed: int, partial: bool = False
) -> ImageSet | None:
    """The image->pose items of a split: person crops, poses, crop keypoints. With `partial`,
    only the crops that show part of the person (`CROP_KEEP_KEY` under 1), None if none does."""
    size = data.sizes["image2pose"]
    if not size:
        return None
    start = data.offsets["image2pose"]
    rows = range(size)
    if partial:
        keep = data.hmr.extras.get(CROP_KEEP_KEY)
        rows = [] if keep is None else [i for i in rows if keep[i] < 1.0]
        if not rows:
            return None
    salt = f"{data.split}/image2pose" + ("/partial" if partial else "")
    rows = [rows[i] for i in pick_rows(len(rows), limit, seed, salt)]
    conversations = [data[start + i] for i in rows]
    return ImageSet(
        LazyImages([_loader(data, c) for c in conversations]),
        torch.stack([c.poses[0] for c in conversations]),
        [c.messages[0].content for c in conversations],
        crop_keypoints(data.hmr, rows),
        families=_families(data.hmr, rows),
        sources=_sources(data, rows),
    )


def _rpe(data: PoseDataset, limit: int | None, seed: int) -> ImageSet | None:
    """RPE items: whole pictures, the description of one person, and everyone's boxes; the
    `limit` people of `_crops` (each with every description kind)."""
    posed = [(i, row) for i, (row, kind) in enumerate(data.items["rpe"]) if kind != ABSENT_KEY]
    if not posed:
        return None
    start, hmr = data.offsets["rpe"], data.hmr
    boxes: dict[str, list] = {}
    for row in range(len(hmr)):
        boxes.setdefault(str(hmr.imgname[row]), []).append(hmr.box(row))
    # `limit` of the people with descriptions, each with all their descriptions; where every
    # person has them (synthetic scenes), the people of the image->pose items (same draw).
    described = sorted({row for _, row in posed})
    people = {
        described[i] for i in pick_rows(len(described), limit, seed, f"{data.split}/image2pose")
    }
    items = [data[start + i] for i, row in posed if row in people]
    rows = [c.meta["row"] for c in items]
    kinds = [c.meta["kind"] for c in items]
    return ImageSet(
        LazyImages([_loader(data, c) for c in items]),
        torch.stack([c.poses[0] for c in items]),
        [c.messages[0].content for c in items],
        descriptions=[
            str(hmr.extras[DESCRIPTION_PREFIX + k][r]) for k, r in zip(kinds, rows, strict=True)
        ],
        kinds=kinds,
        people=[boxes[str(hmr.imgname[r])] for r in rows],
        groups=[str(hmr.imgname[r]) for r in rows],
        families=_families(hmr, rows),
        sources=_sources(data, rows),
    )


def _absent(data: PoseDataset) -> list[Conversation]:
    """The RPE items about someone who is not in the picture (answered with no pose)."""
    start = data.offsets["rpe"]
    return [data[start + i] for i, (_, kind) in enumerate(data.items["rpe"]) if kind == ABSENT_KEY]


def _sources(data: PoseDataset, rows: list[int]) -> list[str] | None:
    """The converted dataset of each HMR row (the first folder of its image name, where
    `image2pose/<name>/` exists), or None when no row has one."""
    names = [str(data.hmr.imgname[r]).split("/", 1)[0] for r in rows]
    known = {p.name for p in (data.root / IMAGE2POSE_DIR).glob("*/") if p.is_dir()}
    sources = [n if n in known else "" for n in names]
    return sources if any(sources) else None


def _families(hmr: HmrData, rows: list[int]) -> list[str] | None:
    """The pose family of each row, when the data has them (synthetic scenes do)."""
    family = hmr.extras.get("family")
    return None if family is None else [str(family[r]) for r in rows]


def _loader(data: PoseDataset, conversation: Conversation) -> Callable[[], Image.Image]:
    return lambda: data.load_image(conversation)


def crop_keypoints(hmr: HmrData, rows: list[int]) -> np.ndarray:
    """(N, 17, 3) COCO-17 keypoints of HMR rows in their square crop: x, y in [0, 1] of the
    crop box, visibility as given."""
    keypoints = hmr.coco17()[rows].astype(np.float32)
    for k, row in enumerate(rows):
        x0, y0, x1, _ = hmr.box(row)
        keypoints[k, :, :2] = (keypoints[k, :, :2] - (x0, y0)) / (x1 - x0)
    return keypoints


# -- real test sets in their own formats ----------------------------------------------------


def load_real_posescript(
    root: str | os.PathLike,
    amass_root: str | os.PathLike | None,
    seed: int = 0,
    max_items: int | None = None,
) -> tuple[TextSet, dict[str, TextPosePairs]]:
    """The test split of a PoseScript-layout folder as a text->pose test set (first text, pose
    turned to face +z), and all its splits' pairs (for a retrieval evaluator)."""
    pairs = read_text_pose_pairs(root, amass_root=amass_root)
    test = pairs.get("test")
    if test is None or len(test) == 0:
        raise ModelFileError(f"{root} has no PoseScript test pairs")
    rows = pick_rows(len(test), max_items, seed, "real/posescript")
    texts = [test.texts[i][0] for i in rows]
    prompts = [
        text2pose_question(t, stream(seed, f"real/posescript/{i}"), "test", seed)
        for i, t in zip(rows, texts, strict=True)
    ]
    return TextSet(texts, face_forward(test.poses[rows]), prompts, list(texts)), pairs


def _hmr_image(root: Path, name: PurePosixPath) -> Path:
    """Where an HMR npz's image is: `root/name`, or in mmpose's Human3.6M layout, where a bare
    name such as S1_Directions_1.54138969_000001.jpg lives in S1/S1_Directions_1.54138969/."""
    direct = root / name
    if direct.is_file() or len(name.parts) > 1 or "_" not in name.stem:
        return direct
    sequence = name.stem.rsplit("_", 1)[0]
    nested = root / sequence.split("_", 1)[0] / sequence / name.name
    return nested if nested.is_file() else direct


def load_real_hmr(
    path: str | os.PathLike,
    image_root: str | os.PathLike,
    seed: int = 0,
    max_items: int | None = None,
) -> ImageSet:
    """An HMR npz (3DPW, Human3.6M, ...) as an image->pose test set: each row's square person
    box cropped from its image under `image_root`."""
    hmr = read_hmr(path)
    if len(hmr) == 0:
        raise ModelFileError(f"{path} holds no people")
    image_root = Path(image_root)
    rows = pick_rows(len(hmr), max_items, seed, f"real/{Path(path).stem}")

    def loader(row: int) -> Callable[[], Image.Image]:
        name = PurePosixPath(str(hmr.imgname[row]))
        if name.is_absolute() or ".." in name.parts:
            raise ModelFileError(f"{path}: image path {name} must stay under the image folder")
        return lambda: crop_square(open_image(_hmr_image(image_root, name)), hmr.box(row))

    prompts = [image2pose_question(stream(seed, f"real/hmr/{i}"), "test", seed) for i in rows]
    poses = camera_to_y_up(hmr.pose[rows])  # HMR's camera frame -> POSE_FRAME
    images = LazyImages([loader(r) for r in rows])
    return ImageSet(images, poses, prompts, crop_keypoints(hmr, rows))
