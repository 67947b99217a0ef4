"""Pose files (.npz / .json) and mesh files (.obj / .ply / .glb), written atomically."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import trimesh

from posegpt.body.npz import NUMERIC_KINDS, read_npz
from posegpt.body.rotations import POSE_FRAME, check_rotmat, rotmat_to_axis_angle, to_rotmat
from posegpt.errors import InvalidInputError, ModelFileError, TooLargeError
from posegpt.files import atomic_path, atomic_write_text

POSE_SUFFIXES = (".npz", ".json")
MESH_SUFFIXES = (".obj", ".ply", ".glb")
#: Largest unpacked size of a pose .npz read (a pose is 1 KB; this leaves room for extras).
MAX_POSE_FILE_BYTES = 16 << 20


def _suffix(path: Path, allowed: tuple[str, ...], what: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in allowed:
        raise InvalidInputError(f"{what} file must end in one of {', '.join(allowed)}: {path}")
    return suffix


def save_pose(path: str | Path, rotmat: torch.Tensor) -> Path:
    """Write one pose: `pose` (72,) axis-angle and `rotmat` (24, 3, 3), as .npz or .json, with
    `frame` naming the root's frame (`posegpt.body.rotations.POSE_FRAME`: y up, facing +z)."""
    path = Path(path)
    suffix = _suffix(path, POSE_SUFFIXES, "pose")
    rotmat = check_rotmat(rotmat)
    if rotmat.shape != (24, 3, 3):
        raise InvalidInputError(f"save_pose takes one pose (24, 3, 3), got {tuple(rotmat.shape)}")
    arrays = {
        "pose": rotmat_to_axis_angle(rotmat).numpy().astype(np.float32),
        "rotmat": rotmat.numpy().astype(np.float32),
    }
    if suffix == ".json":
        data = {k: v.tolist() for k, v in arrays.items()}
        return atomic_write_text(path, json.dumps({**data, "frame": POSE_FRAME}))
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        np.savez(f, **arrays, frame=np.array(POSE_FRAME))
    return path


def load_pose(path: str | Path) -> torch.Tensor:
    """Read a pose file written by `save_pose` (or any .npz/.json with `rotmat` or a 72-d
    `pose`); returns (24, 3, 3) float32 rotation matrices."""
    path = Path(path)
    suffix = _suffix(path, POSE_SUFFIXES, "pose")
    try:
        if suffix == ".json":
            if path.stat().st_size > MAX_POSE_FILE_BYTES:
                raise TooLargeError(f"pose file {path} is over {MAX_POSE_FILE_BYTES:,} bytes")
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise InvalidInputError(f"{path}: expected a JSON object with 'rotmat' or 'pose'")
        else:
            data = read_npz(path, ("rotmat", "pose"), MAX_POSE_FILE_BYTES, "pose file")
    except (OSError, ValueError) as err:
        if isinstance(err, InvalidInputError):
            raise
        raise ModelFileError(f"cannot read pose file {path}: {err}") from err
    for key in ("rotmat", "pose"):
        if key in data:
            rotmat = to_rotmat(_numbers(data[key], f"{path}: '{key}'"))
            if rotmat.shape != (24, 3, 3):
                raise InvalidInputError(
                    f"{path}: '{key}' holds {tuple(rotmat.shape)}, not one pose"
                )
            return rotmat
    raise InvalidInputError(f"{path} has neither 'rotmat' nor 'pose'")


def _numbers(value: object, what: str) -> np.ndarray:
    """`value` as float32, refusing strings, booleans, complex numbers and nested objects."""
    try:
        array = np.asarray(value)
    except ValueError as err:  # ragged JSON lists
        raise InvalidInputError(f"{what} is not an array of numbers: {err}") from err
    if array.dtype.kind not in NUMERIC_KINDS:
        raise InvalidInputError(f"{what} holds {array.dtype} values, not real numbers")
    return array.astype(np.float32)


def to_trimesh(vertices: torch.Tensor, faces: torch.Tensor, color=None) -> trimesh.Trimesh:
    """One posed body (V, 3) as a trimesh mesh, optionally with an RGB(A) colour in [0, 255]."""
    mesh = trimesh.Trimesh(
        vertices=vertices.detach().cpu().numpy(), faces=faces.cpu().numpy(), process=False
    )
    if color is not None:
        mesh.visual.vertex_colors = np.tile(
            np.asarray(color, dtype=np.uint8), (len(mesh.vertices), 1)
        )
    return mesh


def save_mesh(path: str | Path, vertices: torch.Tensor, faces: torch.Tensor, color=None) -> Path:
    """Write one posed body as .obj, .ply or .glb (the format follows the suffix)."""
    path = Path(path)
    suffix = _suffix(path, MESH_SUFFIXES, "mesh")
    mesh = to_trimesh(vertices, faces, color)
    with atomic_path(path) as tmp:
        mesh.export(tmp, file_type=suffix[1:])
    return path


def load_mesh(path: str | Path) -> trimesh.Trimesh:
    """Read a mesh file back as one trimesh mesh (scenes are concatenated)."""
    try:
        loaded = trimesh.load(Path(path), process=False)
    except Exception as err:  # trimesh raises many kinds on bad files
        raise ModelFileError(f"cannot read mesh file {path}: {err}") from err
    if isinstance(loaded, trimesh.Scene):
        loaded = loaded.to_geometry()
    return loaded
