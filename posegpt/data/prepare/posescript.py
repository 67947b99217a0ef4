"""PoseScript (Delmas et al., ECCV 2022) -> text2pose/, with the AMASS frames it uses.

Input, as released (`posescript_release/`), plus the AMASS npz files (`--amass-root`):
  ids_2_dataset_sequence_and_frame_index_100k.json  id -> ["AMASS", sequence npz path, frame]
  posescript_human_6293.json                          id -> text (or [texts])
  posescript_auto_100k.json                           id -> [texts] (optional)
  {train,val,test}_ids_100k.json                      [ids]
Output: text2pose/ in the same layout, ids kept, each pose's human-written text first (a
second human text, where one exists, joins the automatic ones), and only the frames used,
copied from AMASS into compact npz sequences under text2pose/amass/posescript/ (so the dataset
no longer needs AMASS). Poses without any text, or whose AMASS file is absent (with
`--skip-missing`), are left out and counted on the card.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from posegpt.data.formats import (
    AUTO_FILE,
    HUMAN_FILE,
    IDS_FILE,
    POSESCRIPT_SPLITS,
    SPLIT_FILE,
    read_amass,
    read_json,
    write_posescript,
)
from posegpt.data.prepare.common import Output, progress, require
from posegpt.errors import ModelFileError

NAME = "posescript"
TEXT2POSE_DIR = "text2pose"


def read_texts(path: Path) -> dict[int, list[str]]:
    """A PoseScript / PoseFix text file: id -> text or [texts], as id -> [texts]."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise ModelFileError(f"{path} must hold a JSON object: id -> text(s)")
    out = {}
    for key, value in data.items():
        texts = [value] if isinstance(value, str) else value
        if not key.isdigit() or not isinstance(texts, list):
            raise ModelFileError(f"{path}: bad entry {key!r}")
        if not all(isinstance(t, str) for t in texts):
            raise ModelFileError(f"{path}: entry {key} must hold text")
        out[int(key)] = [t.strip() for t in texts if t.strip()]
    return out


def read_pose_index(path: Path) -> dict[int, tuple[str, int]]:
    """ids_2_dataset_sequence_and_frame_index: id -> (AMASS npz path, frame)."""
    data = read_json(require(path, "PoseScript's pose index"))
    if not isinstance(data, dict):
        raise ModelFileError(f"{path} must hold a JSON object: id -> [dataset, file, frame]")
    out = {}
    for key, entry in data.items():
        ok = isinstance(entry, list) and len(entry) == 3 and isinstance(entry[1], str)
        if not (key.isdigit() and ok and isinstance(entry[2], int) and entry[2] >= 0):
            raise ModelFileError(f"{path}: bad entry {key!r}: {entry!r}")
        if entry[0] != "AMASS":
            raise ModelFileError(f"{path}: entry {key} is from {entry[0]!r}; only AMASS is known")
        out[int(key)] = (entry[1], entry[2])
    return out


def read_split(path: Path) -> list[int]:
    ids = read_json(path)
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise ModelFileError(f"{path} must hold a list of integer ids")
    return ids


def load_amass_frames(
    index: dict[int, tuple[str, int]],
    ids: list[int],
    amass_root: Path,
    skip_missing: bool,
    show: bool,
) -> tuple[dict[int, torch.Tensor], int]:
    """Poses (24, 3, 3), y-up, of `ids` from their AMASS files; and how many were missing."""
    by_file: dict[str, list[int]] = {}
    for pose_id in ids:
        by_file.setdefault(index[pose_id][0], []).append(pose_id)
    poses, missing = {}, 0
    for rel, file_ids in progress(by_file.items(), "AMASS files", show, len(by_file)):
        path = amass_root / rel
        if not path.exists():
            if not skip_missing:
                raise ModelFileError(
                    f"AMASS file {path} not found (id {file_ids[0]}); check --amass-root, or "
                    "pass --skip-missing to leave its poses out"
                )
            missing += len(file_ids)
            continue
        frames = read_amass(path, [index[i][1] for i in file_ids])
        poses.update(zip(file_ids, frames, strict=True))
    return poses, missing


def prepare(
    src: Path,
    out: Path,
    amass_root: Path | None = None,
    skip_missing: bool = False,
    show: bool = True,
    **_: object,
) -> dict:
    """Convert a PoseScript release folder `src` into `out/text2pose` (see the module doc)."""
    if amass_root is None:
        raise ModelFileError("PoseScript needs the AMASS npz files: pass --amass-root DIR")
    require(amass_root, "the AMASS root folder")
    index = read_pose_index(src / IDS_FILE)
    human = read_texts(require(src / HUMAN_FILE, "PoseScript's human-written captions"))
    auto = read_texts(src / AUTO_FILE) if (src / AUTO_FILE).exists() else {}
    splits = {
        name: read_split(src / SPLIT_FILE.format(name))
        for name in POSESCRIPT_SPLITS
        if (src / SPLIT_FILE.format(name)).exists()
    }
    if not splits:
        raise ModelFileError(f"{src} holds no {SPLIT_FILE.format('{train,val,test}')} files")
    texts = {i: human.get(i, []) + auto.get(i, []) for i in set(human) | set(auto)}
    wanted = sorted({i for ids in splits.values() for i in ids if texts.get(i) and i in index})
    no_text = sum(1 for ids in splits.values() for i in ids if not texts.get(i))
    no_index = sum(1 for ids in splits.values() for i in ids if texts.get(i) and i not in index)
    poses, missing = load_amass_frames(index, wanted, amass_root, skip_missing, show)
    ids = [i for i in wanted if i in poses]
    root = out / TEXT2POSE_DIR
    sequences = root / "amass" / NAME
    if sequences.exists():
        shutil.rmtree(sequences)
    stacked = torch.stack([poses[i] for i in ids]) if ids else torch.zeros(0, 24, 3, 3)
    write_posescript(
        root,
        stacked,
        human={i: human[i][0] for i in ids if human.get(i)},
        auto={i: (human.get(i, [])[1:] + auto.get(i, [])) for i in ids},
        splits={name: [i for i in split if i in poses] for name, split in splits.items()},
        ids=ids,
        sequences=NAME,
    )
    for name in set(POSESCRIPT_SPLITS) - set(splits):  # a split an earlier run wrote
        (root / SPLIT_FILE.format(name)).unlink(missing_ok=True)
    output = Output(out, NAME)
    output.written = sorted(p for p in root.rglob("*") if p.is_file())
    counts = {name: sum(1 for i in split if i in poses) for name, split in splits.items()}
    counts["human_texts"] = sum(1 for i in ids if human.get(i))
    counts["auto_texts"] = sum(len(auto.get(i, [])) for i in ids)
    skipped = {"no_text": no_text, "not_in_index": no_index, "amass_file_missing": missing}
    return output.finish(counts, skipped, src, amass_root=str(amass_root.resolve()))
