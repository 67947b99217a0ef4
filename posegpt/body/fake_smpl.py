"""Writes a random SMPL-format file for tests and benchmarks; not a body model.

The arrays have the keys, shapes and dtypes of the licensed SMPL model (6890 vertices, 13776
triangles, 24 joints, 10 shape and 207 pose blend shapes) but made-up values: points
scattered along hand-placed SMPL-like rest bones (y-up, facing +z, the left side at +x,
metres), each skinned to the bone it lies on, with the keypoint vertices on the face and feet.
No SMPL data is used or shipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from posegpt.body.skeleton import JOINT_INDEX, NUM_JOINTS, PARENTS, TEMPLATE_JOINTS
from posegpt.body.smpl_body import KEYPOINT_VERTICES
from posegpt.body.smpl_file import NUM_POSE_BASIS, NUM_VERTICES
from posegpt.files import atomic_path

NUM_FACES = 13776

#: Where the keypoint vertices sit: (joint they are skinned to, offset from that joint).
_KEYPOINT_PLACES: dict[str, tuple[str, tuple[float, float, float]]] = {
    "nose": ("head", (0.0, 0.05, 0.11)),
    "left_eye": ("head", (0.03, 0.09, 0.09)),
    "right_eye": ("head", (-0.03, 0.09, 0.09)),
    "left_ear": ("head", (0.08, 0.07, 0.0)),
    "right_ear": ("head", (-0.08, 0.07, 0.0)),
    "left_big_toe": ("left_foot", (-0.01, -0.03, 0.08)),
    "right_big_toe": ("right_foot", (0.01, -0.03, 0.08)),
    "left_small_toe": ("left_foot", (0.04, -0.03, 0.06)),
    "right_small_toe": ("right_foot", (-0.04, -0.03, 0.06)),
    "left_heel": ("left_ankle", (0.0, -0.07, -0.07)),
    "right_heel": ("right_ankle", (0.0, -0.07, -0.07)),
}
#: Vertices 4j..4j+3 surround joint j; the J_regressor averages them.
_REGRESSOR_VERTICES = 4


def fake_smpl_arrays(seed: int = 0, num_betas: int = 10) -> dict[str, np.ndarray]:
    """The arrays of a random SMPL-format model (the keys of `smpl_file.SMPL_KEYS`)."""
    rng = np.random.default_rng(seed)
    joints = np.array(TEMPLATE_JOINTS)
    children = [[c for c in range(NUM_JOINTS) if PARENTS[c] == j] for j in range(NUM_JOINTS)]
    # Bone of joint j: from j towards its children's mean (leaves: onwards, half as long).
    ends = np.array(
        [
            joints[c].mean(0) if c else joints[j] + 0.5 * (joints[j] - joints[PARENTS[j]])
            for j, c in enumerate(children)
        ]
    )

    n_reg = _REGRESSOR_VERTICES * NUM_JOINTS
    owner = np.concatenate(
        [np.repeat(np.arange(NUM_JOINTS), _REGRESSOR_VERTICES)]
        + [
            np.full(len(g), j)
            for j, g in enumerate(np.array_split(np.arange(n_reg, NUM_VERTICES), NUM_JOINTS))
        ]
    )
    along = rng.uniform(0.0, 1.0, NUM_VERTICES)
    along[:n_reg] = 0.0
    vertices = joints[owner] + along[:, None] * (ends - joints)[owner]
    vertices += rng.normal(0.0, 0.03, (NUM_VERTICES, 3))
    ring = 0.02 * np.array([[1, 0, 0], [-1, 0, 0], [0, 0, 1], [0, 0, -1]], dtype=float)
    vertices[:n_reg] = joints[owner[:n_reg]] + np.tile(ring, (NUM_JOINTS, 1))

    # Skinned to the bone's joint, blending into its parent near the bone's start.
    weights = np.zeros((NUM_VERTICES, NUM_JOINTS))
    rows = np.arange(NUM_VERTICES)
    own = np.where(owner == 0, 1.0, 0.7 + 0.3 * along)
    weights[rows, owner] = own
    parent = np.array(PARENTS)[owner]
    weights[rows[owner > 0], parent[owner > 0]] = 1.0 - own[owner > 0]
    for name, (joint, offset) in _KEYPOINT_PLACES.items():
        v, j = KEYPOINT_VERTICES[name], JOINT_INDEX[joint]
        vertices[v] = joints[j] + offset
        owner[v] = j
        weights[v] = np.eye(NUM_JOINTS)[j]

    regressor = np.zeros((NUM_JOINTS, NUM_VERTICES))
    regressor[owner[:n_reg], np.arange(n_reg)] = 1.0 / _REGRESSOR_VERTICES

    # Shape: height, width, then smooth random per-joint offsets; pose: small smooth offsets.
    shapedirs = np.zeros((NUM_VERTICES, 3, num_betas))
    shapedirs[:, 1, 0] = 0.05 * (vertices[:, 1] - joints[0, 1])
    shapedirs[:, 0, 1] = 0.1 * vertices[:, 0]
    if num_betas > 2:
        shapedirs[:, :, 2:] = np.einsum(
            "vj,jck->vck", weights, rng.normal(0.0, 0.01, (NUM_JOINTS, 3, num_betas - 2))
        )
    posedirs = (weights @ rng.normal(0.0, 0.003, (NUM_JOINTS, 3 * NUM_POSE_BASIS))).reshape(
        NUM_VERTICES, 3, NUM_POSE_BASIS
    )

    # Triangles of three neighbouring vertices of one bone (vertices are grouped by bone).
    start = rng.integers(n_reg, NUM_VERTICES - 2, NUM_FACES)
    faces = (start[:, None] + np.arange(3)).astype(np.uint32)

    kintree = np.stack([np.array(PARENTS), np.arange(NUM_JOINTS)]).astype(np.int64)
    kintree[0, 0] = 4294967295  # as in the official files
    return {
        "v_template": vertices,
        "f": faces,
        "J_regressor": regressor,
        "kintree_table": kintree,
        "weights": weights,
        "shapedirs": shapedirs,
        "posedirs": posedirs,
    }


def write_fake_smpl_npz(path: str | os.PathLike, seed: int = 0, num_betas: int = 10) -> Path:
    """Write `fake_smpl_arrays(seed, num_betas)` to the .npz file `path` (atomically)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as out:
        np.savez(out, **fake_smpl_arrays(seed, num_betas))
    return Path(path)
