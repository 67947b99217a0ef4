"""Dataset files in the layouts of the real datasets, so real data drops in with no code change.

Readers never unpickle (`np.load(allow_pickle=False)`), bound what they read, check shapes and
raise ModelFileError naming the file. Writers go through `posegpt.files` (atomic).

AMASS sequences (`read_amass` / `write_amass`): npz with `poses` (N, 156) SMPL-H axis-angle:
[0:3] global orientation, [3:66] body joints 1-21, the rest hands; plus `trans`, `betas`,
`gender`, `mocap_framerate`. AMASS worlds are z-up; poses are returned y-up (SMPL's and
posegpt's convention) by turning the root -90 degrees about x, and written back z-up. SMPL's
joints 22-23 (the hands) are not in SMPL-H's body part: they read as identity and are dropped on
write, so a pose round-trips exactly only if its hand joints are identity (the pose generator
leaves them so; a pose with bent hands comes back with straight ones).

PoseScript (`read_posescript` / `write_posescript`), one folder:
  ids_2_dataset_sequence_and_frame_index_100k.json  id -> ["AMASS", npz path under an AMASS
                                                     root, frame index]
  posescript_human_6293.json                          id -> text
  posescript_auto_100k.json                           id -> [texts]
  {train,val,test}_ids_100k.json                      [ids]
Synthetic data write their poses as AMASS npz "sequences" of `POSES_PER_SEQUENCE` frames under
`<root>/amass/synthetic/`; their "human" texts are captioner output too (file names are kept).

HMR (`read_hmr` / `write_hmr`), one npz per dataset and split, one row per person:
  imgname (N,) str      image path under the image folder (the full image, not a crop)
  center (N, 2), scale (N,)  the person's square box: centre (pixels) and side / 200
  pose (N, 72)          SMPL axis-angle, the root in the camera frame (x right, y down, z fwd)
  shape (N, 10)         SMPL betas; posegpt's anny bodies put their 6 phenotypes in [:6], zero
                        the rest, and write `body_model` = "anny" (absent: "smpl")
  part (N, 24, 3)       2D keypoints x, y, visibility in the LSP/HMR 24-joint order
                        (`HMR24_NAMES`); COCO-17 keypoints fill their 17 slots, the other 7 are
                        zero (`coco17_to_hmr24`, `HmrData.coco17`)
Any other array with N rows (e.g. `description_<kind>` (N,) str, `scene_id` (N,) int, `S`) is
kept in `HmrData.extras`.

LLaVA instructions (`read_llava` / `write_llava`): a JSON list of
  {"id", "image"?, "conversations": [{"from": "human" | "gpt" | "system", "value"}]}
with posegpt's optional extensions `"poses"` (one 72-d SMPL axis-angle list per `<POSE>` in the
gpt turns, in order), `"task"` and `"meta"`.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import get_args

import numpy as np
import torch

from posegpt.body.io import load_pose
from posegpt.body.rotations import axis_angle_to_rotmat, rotmat_to_axis_angle
from posegpt.body.skeleton import COCO17_NAMES, NUM_JOINTS
from posegpt.errors import InvalidInputError, ModelFileError
from posegpt.files import atomic_path, atomic_write_text
from posegpt.records import POSE_INPUT_TOKEN, POSE_TOKEN, Conversation, Message, Task

#: Largest JSON file read (bytes) and most rows read from one npz.
MAX_JSON_BYTES = 1 << 30
MAX_ROWS = 10_000_000

# -- shared ---------------------------------------------------------------------------------


def read_json(path: str | os.PathLike) -> object:
    """Parse a JSON file, or raise ModelFileError naming it."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            raise ModelFileError(f"{path} is larger than {MAX_JSON_BYTES} bytes")
        with path.open("rb") as f:
            return json.load(f)
    except (OSError, ValueError) as err:
        if isinstance(err, ModelFileError):
            raise
        raise ModelFileError(f"cannot read {path}: {err}") from err


def write_json(path: str | os.PathLike, data: object) -> Path:
    """Write `data` as JSON (UTF-8), atomically."""
    return atomic_write_text(path, json.dumps(data, ensure_ascii=False))


def read_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """All arrays of an npz file (never unpickling), or ModelFileError naming it."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            if not isinstance(npz, np.lib.npyio.NpzFile):
                raise ModelFileError(f"{path} is not an npz archive")
            return {k: npz[k] for k in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        if isinstance(err, ModelFileError):
            raise
        raise ModelFileError(f"cannot read {path}: {err}") from err


def write_npz(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> Path:
    """Write arrays to an npz file, atomically."""
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        np.savez(f, **arrays)
    return Path(path)


def _array(arrays: Mapping[str, np.ndarray], key: str, shape: tuple, path: Path) -> np.ndarray:
    """arrays[key], checked against `shape` (None: any size; "N": the first dimension)."""
    if key not in arrays:
        raise ModelFileError(f"{path} has no '{key}' array")
    value = arrays[key]
    ok = value.ndim == len(shape) and all(
        s is None or s == "N" or s == d for s, d in zip(shape, value.shape, strict=True)
    )
    if not ok:
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise ModelFileError(f"{path}: '{key}' has shape {value.shape}, expected {want}")
    if shape and value.shape[0] > MAX_ROWS:
        raise ModelFileError(f"{path}: '{key}' has more than {MAX_ROWS} rows")
    return value


def _numbers(value: np.ndarray, key: str, path: Path) -> np.ndarray:
    if value.dtype.kind not in "fiu" or not np.isfinite(value).all():
        raise ModelFileError(f"{path}: '{key}' must hold finite numbers")
    return value


def _poses(values: np.ndarray, key: str, path: Path) -> torch.Tensor:
    """(N, 72) axis-angle -> (N, 24, 3, 3) rotation matrices."""
    return axis_angle_to_rotmat(_numbers(values, key, path).astype(np.float32))


def _axis_angle(rotmat: torch.Tensor) -> np.ndarray:
    """(N, 24, 3, 3) -> (N, 72) float32."""
    return rotmat_to_axis_angle(rotmat).numpy().astype(np.float32)


# -- AMASS ----------------------------------------------------------------------------------

AMASS_POSE_VALUES = 156
AMASS_BODY_JOINTS = 22  # root + 21 body joints
#: Turns AMASS's z-up world into the y-up world: -90 degrees about x.
Z_UP_TO_Y_UP = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
DEFAULT_FRAMERATE = 30.0


def amass_to_rotmat(poses: np.ndarray) -> torch.Tensor:
    """(N, >= 66) AMASS axis-angle -> (N, 24, 3, 3) y-up SMPL poses, hands identity."""
    full = np.zeros((len(poses), NUM_JOINTS * 3), dtype=np.float32)
    full[:, : AMASS_BODY_JOINTS * 3] = poses[:, : AMASS_BODY_JOINTS * 3]
    rotmat = axis_angle_to_rotmat(full)
    rotmat[:, 0] = Z_UP_TO_Y_UP @ rotmat[:, 0]
    return rotmat


def rotmat_to_amass(rotmat: torch.Tensor) -> np.ndarray:
    """(N, 24, 3, 3) y-up poses -> (N, 156) AMASS axis-angle (z-up, hands zero)."""
    rotmat = rotmat.float().clone()
    rotmat[:, 0] = Z_UP_TO_Y_UP.T @ rotmat[:, 0]
    out = np.zeros((len(rotmat), AMASS_POSE_VALUES), dtype=np.float32)
    out[:, : AMASS_BODY_JOINTS * 3] = _axis_angle(rotmat)[:, : AMASS_BODY_JOINTS * 3]
    return out


def read_amass(path: str | os.PathLike, frames: Sequence[int] | None = None) -> torch.Tensor:
    """Poses (N, 24, 3, 3) of an AMASS npz (all frames, or `frames`), y-up."""
    path = Path(path)
    poses = _array(read_npz(path), "poses", ("N", None), path)
    if poses.shape[1] < AMASS_BODY_JOINTS * 3:
        raise ModelFileError(f"{path}: 'poses' has {poses.shape[1]} values per frame, need >= 66")
    if frames is not None:
        frames = np.asarray(frames, dtype=np.int64)
        if frames.size and (frames.min() < 0 or frames.max() >= len(poses)):
            raise ModelFileError(f"{path} has {len(poses)} frames; asked for frame {frames.max()}")
        poses = poses[frames]
    return amass_to_rotmat(_numbers(poses, "poses", path))


def read_pose_file(path: str | os.PathLike, frame: int = 0) -> torch.Tensor:
    """One pose (24, 3, 3) from a file a user has: a pose file as posegpt writes it (.npz or
    .json with `rotmat` or a 72-value SMPL `pose`, `posegpt.body.io.load_pose`) or an AMASS /
    SMPL-H sequence (.npz with `poses`, frame `frame`)."""
    path = Path(path)
    if path.suffix.lower() == ".npz" and "poses" in read_npz(path):
        return read_amass(path, [frame])[0]
    return load_pose(path)


def write_amass(
    path: str | os.PathLike, rotmat: torch.Tensor, framerate: float = DEFAULT_FRAMERATE
) -> Path:
    """Write poses (N, 24, 3, 3) as an AMASS-style npz sequence (no translation, mean shape)."""
    n = len(rotmat)
    return write_npz(
        path,
        {
            "poses": rotmat_to_amass(rotmat),
            "trans": np.zeros((n, 3), dtype=np.float32),
            "betas": np.zeros(16, dtype=np.float32),
            "gender": np.array("neutral"),
            "mocap_framerate": np.array(framerate),
        },
    )


# -- PoseScript -----------------------------------------------------------------------------

IDS_FILE = "ids_2_dataset_sequence_and_frame_index_100k.json"
HUMAN_FILE = "posescript_human_6293.json"
AUTO_FILE = "posescript_auto_100k.json"
SPLIT_FILE = "{}_ids_100k.json"
POSESCRIPT_SPLITS = ("train", "val", "test")
POSES_PER_SEQUENCE = 1000
SYNTHETIC_SEQUENCES = "synthetic"


@dataclass
class PoseScriptData:
    """Text-pose pairs: poses (N, 24, 3, 3) in `ids` order, texts and split lists by id."""

    ids: list[int]
    poses: torch.Tensor
    human: dict[int, str] = field(default_factory=dict)
    auto: dict[int, list[str]] = field(default_factory=dict)
    splits: dict[str, list[int]] = field(default_factory=dict)

    def texts(self, pose_id: int) -> list[str]:
        """Every text of a pose: the human one first, then the automatic ones."""
        human = [self.human[pose_id]] if pose_id in self.human else []
        return human + list(self.auto.get(pose_id, []))

    def pose(self, pose_id: int) -> torch.Tensor:
        """The (24, 3, 3) pose of `pose_id`."""
        return self.poses[self._row[pose_id]]

    def __post_init__(self) -> None:
        self._row = {pose_id: i for i, pose_id in enumerate(self.ids)}


def write_posescript(
    root: str | os.PathLike,
    poses: torch.Tensor,
    human: Mapping[int, str],
    auto: Mapping[int, Sequence[str]],
    splits: Mapping[str, Sequence[int]],
    per_sequence: int = POSES_PER_SEQUENCE,
    ids: Sequence[int] | None = None,
    sequences: str = SYNTHETIC_SEQUENCES,
) -> Path:
    """Write poses (N, 24, 3, 3) with `ids` (default 0..N-1), their texts and splits in the
    PoseScript layout under `root` (the AMASS root is `root/amass`, the frames in npz files of
    `per_sequence` poses under `amass/<sequences>/`). Returns `root`."""
    root = Path(root)
    if per_sequence < 1:
        raise InvalidInputError(f"per_sequence must be >= 1, got {per_sequence}")
    ids = list(range(len(poses))) if ids is None else [int(i) for i in ids]
    if len(ids) != len(poses) or len(set(ids)) != len(ids):
        raise InvalidInputError("ids must be unique, one per pose")
    index: dict[str, list] = {}
    for start in range(0, len(poses), per_sequence):
        rel = f"{sequences}/seq_{start // per_sequence:05d}_poses.npz"
        write_amass(root / "amass" / rel, poses[start : start + per_sequence])
        for frame in range(min(per_sequence, len(poses) - start)):
            index[str(ids[start + frame])] = ["AMASS", rel, frame]
    write_json(root / IDS_FILE, index)
    write_json(root / HUMAN_FILE, {str(k): v for k, v in human.items()})
    write_json(root / AUTO_FILE, {str(k): list(v) for k, v in auto.items()})
    for name, ids in splits.items():
        write_json(root / SPLIT_FILE.format(name), [int(i) for i in ids])
    return root


def read_posescript(
    root: str | os.PathLike,
    amass_root: str | os.PathLike | None = None,
    splits: Sequence[str] = POSESCRIPT_SPLITS,
    skip_missing: bool = False,
) -> PoseScriptData:
    """Read PoseScript-layout text-pose pairs: the ids of `splits` that have a text, with their
    poses loaded from the AMASS npz files under `amass_root` (default `root/amass`).

    A split file that is absent is skipped; a missing AMASS file raises ModelFileError unless
    `skip_missing` (then its ids are dropped).
    """
    root = Path(root)
    amass = Path(amass_root) if amass_root is not None else root / "amass"
    index = _id_map(read_json(root / IDS_FILE), root / IDS_FILE, list)
    human = _id_map(_optional_json(root / HUMAN_FILE, {}), root / HUMAN_FILE, str)
    auto = _id_map(_optional_json(root / AUTO_FILE, {}), root / AUTO_FILE, list)
    chosen: dict[str, list[int]] = {}
    for name in splits:
        path = root / SPLIT_FILE.format(name)
        if path.exists():
            ids = read_json(path)
            if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
                raise ModelFileError(f"{path} must hold a list of integer ids")
            chosen[name] = [i for i in ids if i in index and (i in human or auto.get(i))]
    wanted = sorted({i for ids in chosen.values() for i in ids})
    by_file: dict[str, list[int]] = {}
    for pose_id in wanted:
        entry = index[pose_id]
        if len(entry) != 3 or not isinstance(entry[1], str) or not isinstance(entry[2], int):
            raise ModelFileError(f"{root / IDS_FILE}: bad entry for id {pose_id}: {entry}")
        by_file.setdefault(entry[1], []).append(pose_id)
    ids, poses = [], []
    for rel, file_ids in by_file.items():
        path = amass / _relative(rel, root / IDS_FILE)
        if skip_missing and not path.exists():
            continue
        poses.append(read_amass(path, [index[i][2] for i in file_ids]))
        ids.extend(file_ids)
    kept = set(ids)
    return PoseScriptData(
        ids=ids,
        poses=torch.cat(poses) if poses else torch.empty(0, NUM_JOINTS, 3, 3),
        human={i: t for i, t in human.items() if i in kept},
        auto={i: [str(t) for t in ts] for i, ts in auto.items() if i in kept},
        splits={n: [i for i in s if i in kept] for n, s in chosen.items()},
    )


def _optional_json(path: Path, default: object) -> object:
    return read_json(path) if path.exists() else default


def _id_map(data: object, path: Path, kind: type) -> dict:
    """A JSON object with integer-string keys -> {int: value}, values checked to be `kind`."""
    if not isinstance(data, dict):
        raise ModelFileError(f"{path} must hold a JSON object keyed by id")
    out = {}
    for key, value in data.items():
        if not key.lstrip("-").isdigit() or not isinstance(value, kind):
            raise ModelFileError(f"{path}: bad entry {key!r}")
        out[int(key)] = value
    return out


def _relative(rel: str, where: object) -> PurePosixPath:
    """`rel` as a relative path that stays inside its root, or ModelFileError."""
    path = PurePosixPath(rel)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ModelFileError(f"{where}: path {rel!r} must be relative and stay inside its root")
    return path


# -- HMR ------------------------------------------------------------------------------------

#: The 24 2D keypoints of HMR / SPIN npz files (`part`), in order.
HMR24_NAMES: tuple[str, ...] = (
    "right_ankle",
    "right_knee",
    "right_hip",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_wrist",
    "right_elbow",
    "right_shoulder",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "neck",
    "head_top",
    "pelvis",
    "thorax",
    "spine",
    "jaw",
    "head",
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
)
#: For each COCO-17 keypoint, its slot in `HMR24_NAMES`.
COCO17_IN_HMR24: tuple[int, ...] = tuple(HMR24_NAMES.index(n) for n in COCO17_NAMES)
SHAPE_DIM = 10
HMR_BOX_UNIT = 200.0  # HMR's scale = box side / 200
ANNY_SHAPE = "anny"


@dataclass
class HmrData:
    """Image-pose pairs, one row per person (see the module docstring)."""

    imgname: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    pose: torch.Tensor
    shape: np.ndarray
    part: np.ndarray
    body_model: str = "smpl"
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.imgname)

    def coco17(self) -> np.ndarray:
        """(N, 17, 3) COCO-17 keypoints from `part`."""
        return self.part[:, list(COCO17_IN_HMR24)]

    def box(self, i: int) -> tuple[float, float, float, float]:
        """Person `i`'s square box (x0, y0, x1, y1) in pixels."""
        (cx, cy), half = self.center[i], self.scale[i] * HMR_BOX_UNIT / 2
        return float(cx - half), float(cy - half), float(cx + half), float(cy + half)


def coco17_to_hmr24(keypoints: np.ndarray) -> np.ndarray:
    """(N, 17, 3) COCO-17 keypoints -> (N, 24, 3) in HMR order (other slots zero)."""
    keypoints = np.asarray(keypoints, dtype=np.float32)
    if keypoints.ndim != 3 or keypoints.shape[1:] != (17, 3):
        raise InvalidInputError(f"keypoints must be (N, 17, 3), got {keypoints.shape}")
    out = np.zeros((len(keypoints), len(HMR24_NAMES), 3), dtype=np.float32)
    out[:, list(COCO17_IN_HMR24)] = keypoints
    return out


def write_hmr(path: str | os.PathLike, data: HmrData) -> Path:
    """Write `data` as an HMR-style npz."""
    n = len(data)
    arrays = {
        "imgname": np.asarray(data.imgname, dtype=str),
        "center": np.asarray(data.center, dtype=np.float32).reshape(n, 2),
        "scale": np.asarray(data.scale, dtype=np.float32).reshape(n),
        "pose": _axis_angle(data.pose) if n else np.zeros((0, 72), np.float32),
        "shape": np.asarray(data.shape, dtype=np.float32).reshape(n, SHAPE_DIM),
        "part": np.asarray(data.part, dtype=np.float32).reshape(n, len(HMR24_NAMES), 3),
        "body_model": np.array(data.body_model),
    }
    for key, value in data.extras.items():
        value = np.asarray(value)
        if key in arrays or value.dtype.kind not in "fiubU" or len(value) != n:
            raise InvalidInputError(f"extra array {key!r} must be numbers or text with {n} rows")
        arrays[key] = value
    return write_npz(path, arrays)


def read_hmr(path: str | os.PathLike) -> HmrData:
    """Read an HMR-style npz (`imgname`, `center`, `scale`, `pose` required; `shape` and
    `part` default to zeros)."""
    path = Path(path)
    arrays = read_npz(path)
    imgname = _array(arrays, "imgname", ("N",), path)
    if imgname.dtype.kind not in "US":
        raise ModelFileError(f"{path}: 'imgname' must hold strings")
    n = len(imgname)
    center = _numbers(_array(arrays, "center", (n, 2), path), "center", path)
    scale = _numbers(_array(arrays, "scale", (n,), path), "scale", path)
    if (scale <= 0).any():
        raise ModelFileError(f"{path}: 'scale' must be positive")
    pose = _poses(_array(arrays, "pose", (n, NUM_JOINTS * 3), path), "pose", path)
    shape = np.zeros((n, SHAPE_DIM), dtype=np.float32)
    if "shape" in arrays:
        given = _numbers(_array(arrays, "shape", (n, None), path), "shape", path)
        shape[:, : min(SHAPE_DIM, given.shape[1])] = given[:, :SHAPE_DIM]
    part = np.zeros((n, len(HMR24_NAMES), 3), dtype=np.float32)
    if "part" in arrays:
        part[:] = _numbers(_array(arrays, "part", (n, len(HMR24_NAMES), 3), path), "part", path)
    body_model = str(arrays["body_model"]) if "body_model" in arrays else "smpl"
    known = {"imgname", "center", "scale", "pose", "shape", "part", "body_model"}
    extras = {k: v for k, v in arrays.items() if k not in known and v.ndim >= 1 and len(v) == n}
    return HmrData(
        imgname=imgname.astype(str),
        center=center.astype(np.float32),
        scale=scale.astype(np.float32),
        pose=pose,
        shape=shape,
        part=part,
        body_model=body_model,
        extras=extras,
    )


# -- LLaVA ----------------------------------------------------------------------------------

TASKS: tuple[str, ...] = get_args(Task)
LLAVA_ROLES = {"human": "user", "gpt": "assistant", "system": "system"}
_LLAVA_FROM = {v: k for k, v in LLAVA_ROLES.items()}


def conversation_to_llava(conversation: Conversation, item_id: str) -> dict:
    """One LLaVA json item (with posegpt's "poses" / "task" / "meta" extensions)."""
    item: dict = {"id": item_id}
    if conversation.image is not None:
        item["image"] = conversation.image
    item["conversations"] = [
        {"from": _LLAVA_FROM[m.role], "value": m.content} for m in conversation.messages
    ]
    for key, poses in (("poses", conversation.poses), ("input_poses", conversation.input_poses)):
        if poses:
            item[key] = _axis_angle(torch.stack([torch.as_tensor(p) for p in poses])).tolist()
    item["task"] = conversation.task
    meta = {k: v for k, v in conversation.meta.items() if k != "id"}
    if meta:
        item["meta"] = meta
    return item


def llava_to_conversation(item: object, where: str) -> Conversation:
    """A `Conversation` from one LLaVA json item; ModelFileError (naming `where`) if bad."""
    if not isinstance(item, dict) or not isinstance(item.get("conversations"), list):
        raise ModelFileError(f"{where}: an item must be an object with a 'conversations' list")
    messages = []
    for turn in item["conversations"]:
        if not isinstance(turn, dict) or turn.get("from") not in LLAVA_ROLES:
            raise ModelFileError(f"{where}: each turn needs 'from' in {sorted(LLAVA_ROLES)}")
        if not isinstance(turn.get("value"), str):
            raise ModelFileError(f"{where}: each turn needs a string 'value'")
        messages.append(Message(LLAVA_ROLES[turn["from"]], turn["value"]))
    image = item.get("image")
    if image is not None and not isinstance(image, str):
        raise ModelFileError(f"{where}: 'image' must be a path string")
    if image is not None:
        image = str(_relative(image, where))
    markers = sum(m.content.count(POSE_TOKEN) for m in messages if m.role == "assistant")
    inputs = sum(m.content.count(POSE_INPUT_TOKEN) for m in messages if m.role == "user")
    meta = item.get("meta", {})
    if not isinstance(meta, dict):
        raise ModelFileError(f"{where}: 'meta' must be an object")
    task = item.get("task", "instruction")
    if task not in TASKS:
        raise ModelFileError(f"{where}: unknown task {task!r}; valid: {', '.join(TASKS)}")
    return Conversation(
        messages=messages,
        poses=_llava_poses(item, "poses", markers, f"{POSE_TOKEN} in the answers", where),
        image=image,
        task=task,
        meta={"id": str(item.get("id", "")), **meta},
        input_poses=_llava_poses(
            item, "input_poses", inputs, f"{POSE_INPUT_TOKEN} in the questions", where
        ),
    )


def _llava_poses(item: dict, key: str, markers: int, what: str, where: str) -> list[torch.Tensor]:
    """The item's `key` poses (72 axis-angle values each), one per marker."""
    poses = item.get(key, [])
    try:
        values = np.asarray(poses, dtype=np.float32).reshape(len(poses), NUM_JOINTS * 3)
    except (TypeError, ValueError) as err:
        raise ModelFileError(f"{where}: '{key}' must be a list of 72-value lists") from err
    if len(values) != markers:
        raise ModelFileError(f"{where}: {markers} {what}, {len(values)} {key}")
    return list(_poses(values, key, Path(where))) if len(values) else []


def write_llava(
    path: str | os.PathLike, conversations: Sequence[Conversation], prefix: str = ""
) -> Path:
    """Write conversations as a LLaVA json list, ids `<prefix><index>`."""
    return write_json(
        path, [conversation_to_llava(c, f"{prefix}{i}") for i, c in enumerate(conversations)]
    )


def read_llava(path: str | os.PathLike) -> list[Conversation]:
    """Read a LLaVA json list into `Conversation`s."""
    path = Path(path)
    data = read_json(path)
    if not isinstance(data, list):
        raise ModelFileError(f"{path} must hold a JSON list of conversations")
    return [llava_to_conversation(item, f"{path} item {i}") for i, item in enumerate(data)]
