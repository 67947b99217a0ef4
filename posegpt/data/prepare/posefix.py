"""PoseFix (Delmas et al., ICCV 2023) -> instructions/posefix/<split>.json, pose-editing chats.

Input, as released (`posefix_release/`), plus the AMASS npz files (`--amass-root`) and the
PoseScript captions of the pose ids (`--posescript`, default: the PoseFix folder itself):
  ids_2_dataset_sequence_and_frame_index_100k.json   id -> ["AMASS", sequence npz path, frame]
  pair_id_2_pose_ids.json                             [[pose A id, pose B id], ...] by pair id
  {train,val,test}_{in,out}_sequence_pair_ids.json    [pair ids]
  posefix_human_*.json, posefix_paraphrases_*.json, posefix_auto_*.json   pair id -> modifier(s)
posegpt reads no pose as input, so each pair becomes a two-request chat: pose A from its
PoseScript caption (human-written first), then pose B from the modifier (human-written first,
then paraphrases, then automatic):
  user: "{caption of A} Give the SMPL pose."        assistant: "Sure, the SMPL pose is <POSE>."
  user: "{modifier} Give the SMPL pose after this change."  assistant: "Sure, <POSE>."
Both poses are turned about the vertical so that A faces +z (PoseFix normalises A likewise and
applies the same turn to B). Pairs without a modifier or a caption of A are counted as skipped.
"""

from __future__ import annotations

from pathlib import Path

import torch

from posegpt.data.dataset import face_forward
from posegpt.data.formats import (
    AUTO_FILE,
    HUMAN_FILE,
    IDS_FILE,
    POSESCRIPT_SPLITS,
    conversation_to_llava,
    read_json,
)
from posegpt.data.prepare.common import Output, require
from posegpt.data.prepare.posescript import load_amass_frames, read_pose_index, read_texts
from posegpt.errors import ModelFileError
from posegpt.records import POSE_TOKEN, Conversation, Message

NAME = "posefix"
PAIRS_FILE = "pair_id_2_pose_ids.json"
SPLIT_FILE = "{}_{}_sequence_pair_ids.json"
#: Modifier files, most trusted first.
MODIFIER_PATTERNS = ("posefix_human_*.json", "posefix_paraphrases_*.json", "posefix_auto_*.json")
QUESTION_A = "{} Give the SMPL pose."
ANSWER_A = f"Sure, the SMPL pose is {POSE_TOKEN}."
QUESTION_B = "{} Give the SMPL pose after this change."
ANSWER_B = f"Sure, {POSE_TOKEN}."


def read_pairs(path: Path) -> list[tuple[int, int]]:
    data = read_json(require(path, "PoseFix's pose pairs"))
    ok = isinstance(data, list) and all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(i, int) for i in p) for p in data
    )
    if not ok:
        raise ModelFileError(f"{path} must hold a list of [pose A id, pose B id] pairs")
    return [(a, b) for a, b in data]


def read_modifiers(src: Path) -> dict[int, list[str]]:
    """pair id -> modifiers, the files of MODIFIER_PATTERNS in that order."""
    modifiers: dict[int, list[str]] = {}
    files = [p for pattern in MODIFIER_PATTERNS for p in sorted(src.glob(pattern))]
    if not files:
        raise ModelFileError(f"{src} holds no modifier file ({', '.join(MODIFIER_PATTERNS)})")
    for path in files:
        for pair_id, texts in read_texts(path).items():
            modifiers.setdefault(pair_id, []).extend(texts)
    return modifiers


def pair_conversation(
    caption: str, modifier: str, pose_a: torch.Tensor, pose_b: torch.Tensor, meta: dict
) -> Conversation:
    """The two-request chat of one pair, both poses turned so that A faces +z."""
    turned_a = face_forward(pose_a)
    turn = turned_a[0] @ pose_a[0].T
    turned_b = pose_b.clone()
    turned_b[0] = turn @ pose_b[0]
    messages = [
        Message("user", QUESTION_A.format(caption)),
        Message("assistant", ANSWER_A),
        Message("user", QUESTION_B.format(modifier)),
        Message("assistant", ANSWER_B),
    ]
    return Conversation(messages, [turned_a, turned_b], task="instruction", meta=meta)


def prepare(
    src: Path,
    out: Path,
    amass_root: Path | None = None,
    posescript: Path | None = None,
    skip_missing: bool = False,
    show: bool = True,
    **_: object,
) -> dict:
    """Convert a PoseFix release folder `src` into `out/instructions/posefix/`."""
    if amass_root is None:
        raise ModelFileError("PoseFix needs the AMASS npz files: pass --amass-root DIR")
    require(amass_root, "the AMASS root folder")
    captions_dir = posescript or src
    caption_files = [captions_dir / HUMAN_FILE, captions_dir / AUTO_FILE]
    if not any(p.exists() for p in caption_files):
        raise ModelFileError(
            f"{captions_dir} holds no PoseScript captions ({HUMAN_FILE} / {AUTO_FILE}): pose A "
            "is asked for by its caption; pass --posescript DIR"
        )
    captions: dict[int, list[str]] = {}
    for path in caption_files:
        for pose_id, texts in (read_texts(path) if path.exists() else {}).items():
            captions.setdefault(pose_id, []).extend(texts)
    index = read_pose_index(src / IDS_FILE)
    pairs = read_pairs(src / PAIRS_FILE)
    modifiers = read_modifiers(src)
    splits: dict[str, list[int]] = {}
    for name in POSESCRIPT_SPLITS:
        files = [src / SPLIT_FILE.format(name, kind) for kind in ("in", "out")]
        if any(p.exists() for p in files):
            splits[name] = []
            for path in (p for p in files if p.exists()):
                ids = read_json(path)
                if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
                    raise ModelFileError(f"{path} must hold a list of integer pair ids")
                if any(not 0 <= i < len(pairs) for i in ids):
                    raise ModelFileError(f"{path} names a pair id outside {PAIRS_FILE}")
                splits[name] += ids
    if not splits:
        raise ModelFileError(f"{src} holds no {SPLIT_FILE.format('{split}', '{in,out}')} files")
    skipped = {"no_modifier": 0, "no_caption_of_a": 0, "not_in_index": 0}
    usable: dict[str, list[int]] = {}
    for name, ids in splits.items():
        usable[name] = []
        for pair_id in ids:
            a, b = pairs[pair_id]
            reason = (
                "no_modifier"
                if not modifiers.get(pair_id)
                else "no_caption_of_a"
                if not captions.get(a)
                else "not_in_index"
                if a not in index or b not in index
                else None
            )
            if reason:
                skipped[reason] += 1
            else:
                usable[name].append(pair_id)
    pose_ids = sorted({i for ids in usable.values() for p in ids for i in pairs[p]})
    poses, missing = load_amass_frames(index, pose_ids, amass_root, skip_missing, show)
    skipped["amass_file_missing_poses"] = missing
    output, counts = Output(out, NAME), {}
    for name, ids in usable.items():
        items = []
        for pair_id in ids:
            a, b = pairs[pair_id]
            if a not in poses or b not in poses:
                continue
            meta = {"pair_id": pair_id, "pose_ids": [a, b], "source": NAME}
            conversation = pair_conversation(
                captions[a][0], modifiers[pair_id][0], poses[a], poses[b], meta
            )
            items.append(conversation_to_llava(conversation, f"{NAME}-{pair_id}"))
        output.write_llava(name, items)
        counts[name] = len(items)
    return output.finish(counts, skipped, src, amass_root=str(amass_root.resolve()))
