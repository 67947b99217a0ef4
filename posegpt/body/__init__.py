"""Bodies: the SMPL skeleton, rotation conversions, body models and pose/mesh files."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from posegpt.body.anny_body import AnnyBody
from posegpt.body.base import BodyModel, BodyOutput
from posegpt.body.skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS
from posegpt.body.smpl_body import SmplBody

__all__ = [
    "AnnyBody",
    "BodyModel",
    "BodyOutput",
    "JOINT_NAMES",
    "NUM_JOINTS",
    "PARENTS",
    "SmplBody",
    "load_body_model",
]


@lru_cache(maxsize=4)
def load_body_model(name_or_path: str | None = None) -> BodyModel:
    """The body model to use: "anny" (default), "smpl" (from `SMPL_MODEL_PATH`) or a path to
    the user's own SMPL model file or folder. Instances are shared within a process."""
    if name_or_path in (None, "", "anny"):
        return AnnyBody().eval()
    if name_or_path == "smpl":
        return SmplBody(os.environ.get("SMPL_MODEL_PATH")).eval()
    return SmplBody(Path(name_or_path)).eval()
