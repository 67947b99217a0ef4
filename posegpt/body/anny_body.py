"""AnnyBody: the free default body model, anny's soma rig driven by SMPL joint rotations.

anny (Apache-2.0 code, CC0 MakeHuman data) shares SMPL's conventions when its pose is given as
local rotations: identity is a T-pose, y-up, facing +z, the subject's left at +x. So each SMPL
joint rotation is copied onto the matching soma bone (`smpl_to_soma_bones`); the SMPL "hand"
rotation drives the four finger bases. Shape is anny's six phenotype values in [0, 1].
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from posegpt.body.base import BodyModel, BodyOutput
from posegpt.body.skeleton import JOINT_NAMES

logger = logging.getLogger("posegpt.body")

#: Size of anny's one-time cache (`~/.cache/anny`, or ANNY_CACHE_DIR), measured with anny 0.6.
CACHE_MB = 1000

PHENOTYPES: tuple[str, ...] = ("gender", "age", "muscle", "weight", "height", "proportions")

_CENTRAL_BONES = {
    "pelvis": ("Hips",),
    "spine1": ("Spine1",),
    "spine2": ("Spine2",),
    "spine3": ("Chest",),
    "neck": ("Neck1",),
    "head": ("Head",),
}
_SIDED_BONES = {
    "hip": ("Leg",),
    "knee": ("Shin",),
    "ankle": ("Foot",),
    "foot": ("ToeBase",),
    "collar": ("Shoulder",),
    "shoulder": ("Arm",),
    "elbow": ("ForeArm",),
    "wrist": ("Hand",),
    "hand": ("HandIndex2", "HandMiddle2", "HandRing2", "HandPinky2"),
}


def smpl_to_soma_bones() -> list[tuple[str, ...]]:
    """For each SMPL joint (in JOINT_NAMES order), the soma bones its rotation drives."""
    bones = []
    for name in JOINT_NAMES:
        if name in _CENTRAL_BONES:
            bones.append(_CENTRAL_BONES[name])
        else:
            side, part = name.split("_", 1)
            bones.append(tuple(side.capitalize() + b for b in _SIDED_BONES[part]))
    return bones


def _build_anny():
    anny = _import_anny()
    cache = anny.paths.get_anny_cache_path()
    if any(cache.rglob("build_compact_model_data_*.safetensors")):
        return anny, anny.Anny(rig="soma").to(torch.float32)
    print(
        f"posegpt: building the anny body-model cache in {cache} (one time only, about 1-2 "
        f"minutes, about {CACHE_MB} MB)...",
        file=sys.stderr,
        flush=True,
    )
    started = time.monotonic()
    model = anny.Anny(rig="soma").to(torch.float32)
    size = sum(f.stat().st_size for f in cache.rglob("*") if f.is_file()) / 1e6
    print(
        f"posegpt: body-model cache built in {time.monotonic() - started:.0f} s ({size:.0f} MB)",
        file=sys.stderr,
        flush=True,
    )
    return anny, model


def _import_anny():
    """Import anny with warp quiet: its greeting (stdout) and its "CUDA driver not available"
    warning (stderr, written by C code) go to the `posegpt.body` debug log, so stdout holds
    only what posegpt prints (answers, JSON). Warp warnings and errors still show."""
    import warp

    warp.config.log_level = warp.LOG_WARNING
    with _stderr_to_log():
        import anny
        import anny.skinning.warp_skinning  # noqa: F401  (runs warp's init)
    return anny


@contextmanager
def _stderr_to_log() -> Iterator[None]:
    """Send what is written to file descriptor 2 meanwhile to the debug log (to stderr again if
    an error interrupts)."""
    sys.stderr.flush()
    saved = os.dup(2)
    failed = False
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = sink.read().decode(errors="replace").strip()
            if text and failed:
                print(text, file=sys.stderr)
            elif text:
                logger.debug("%s", text)


class AnnyBody(BodyModel):
    """SMPL-posed anny body: 13,718 vertices, 27,420 triangles, 24 joints, 23 COCO keypoints."""

    name = "anny"
    num_betas = len(PHENOTYPES)

    def __init__(self) -> None:
        super().__init__()
        anny, self.anny = _build_anny()
        self.keypoint_regressor = anny.KeypointsRegressor.coco(self.anny)
        labels = list(self.anny.bone_labels)
        bones = smpl_to_soma_bones()
        # Scatter map: soma bone index <- SMPL joint index, for every driven bone.
        self.register_buffer(
            "_bone_index",
            torch.tensor([labels.index(b) for bs in bones for b in bs]),
            persistent=False,
        )
        self.register_buffer(
            "_joint_of_bone",
            torch.tensor([j for j, bs in enumerate(bones) for _ in bs]),
            persistent=False,
        )
        # Joint position = mean of the heads of the bones the joint drives.
        self.register_buffer("_joint_weights", self._head_weights(bones, labels), persistent=False)
        self._faces = self.anny.faces.long()

    @staticmethod
    def _head_weights(bones: list[tuple[str, ...]], labels: list[str]) -> torch.Tensor:
        w = torch.zeros(len(bones), len(labels))
        for j, bs in enumerate(bones):
            for b in bs:
                w[j, labels.index(b)] = 1.0 / len(bs)
        return w

    @property
    def faces(self) -> torch.Tensor:
        return self._faces

    def _forward(self, rotmat: torch.Tensor, betas: torch.Tensor | None) -> BodyOutput:
        batch = rotmat.shape[0]
        transforms = torch.eye(4, dtype=rotmat.dtype, device=rotmat.device)
        transforms = transforms.repeat(batch, self.anny.bone_count, 1, 1)
        transforms[:, self._bone_index, :3, :3] = rotmat[:, self._joint_of_bone]
        phenotype = None
        if betas is not None:
            phenotype = torch.full((batch, self.num_betas), 0.5, dtype=rotmat.dtype)
            phenotype[:, : betas.shape[1]] = betas
            phenotype = {k: phenotype[:, i] for i, k in enumerate(PHENOTYPES)}
        out = self.anny(pose_parameters=transforms, phenotype_kwargs=phenotype)
        heads = out["bone_poses"][:, :, :3, 3]
        joints = torch.einsum("jb,nbc->njc", self._joint_weights, heads)
        return BodyOutput(out["vertices"], joints, self.keypoint_regressor(out))
